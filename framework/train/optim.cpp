#include "framework/train/optim.h"

#include <torch/nn/init.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <cmath>

#include "framework/nn/layers.h"

namespace dlx::train {

namespace {
// Adam and AdamW take the same options under different types.
template <class Optimizer, class Options>
std::unique_ptr<torch::optim::Optimizer> make_adam(const config::OptimizerSpec& s,
                                                   std::vector<torch::Tensor> parameters) {
  auto options =
      Options(s.lr).betas({s.betas[0], s.betas[1]}).eps(s.eps).weight_decay(s.weight_decay);
  return std::make_unique<Optimizer>(std::move(parameters), options);
}
}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const config::OptimizerSpec& s,
                                                        std::vector<torch::Tensor> parameters) {
  switch (s.type) {
    case config::OptimizerKind::kAdam:
      return make_adam<torch::optim::Adam, torch::optim::AdamOptions>(s, std::move(parameters));
    case config::OptimizerKind::kAdamW:
      return make_adam<torch::optim::AdamW, torch::optim::AdamWOptions>(s, std::move(parameters));
    case config::OptimizerKind::kSgd:
      break;
  }
  auto options = torch::optim::SGDOptions(s.lr)
                     .momentum(s.momentum)
                     .weight_decay(s.weight_decay)
                     .nesterov(s.nesterov);
  return std::make_unique<torch::optim::SGD>(std::move(parameters), options);
}

double scheduled_lr(const config::TrainSpec& spec, int64_t epoch) {
  const config::SchedulerSpec& s = spec.scheduler;
  const double base = spec.optimizer.lr;
  if (epoch <= s.warmup_epochs) return base * double(epoch) / double(s.warmup_epochs);
  const int64_t t = epoch - 1 - s.warmup_epochs;  // epochs done since warm-up
  switch (s.type) {
    case config::SchedulerKind::kStep:
      return base * std::pow(s.gamma, double(t / s.step_size));
    case config::SchedulerKind::kMultistep: {
      int64_t passed = 0;
      for (int64_t m : s.milestones) passed += epoch > m;
      return base * std::pow(s.gamma, double(passed));
    }
    case config::SchedulerKind::kCosine: {
      const double span = double(spec.epochs - s.warmup_epochs);
      return s.min_lr + (base - s.min_lr) * 0.5 * (1.0 + std::cos(M_PI * double(t) / span));
    }
    case config::SchedulerKind::kNone:
      break;
  }
  return base;
}

void set_lr(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

namespace {
void initialise(torch::Tensor& weight, config::InitKind init) {
  switch (init) {
    case config::InitKind::kXavierUniform:
      torch::nn::init::xavier_uniform_(weight);
      return;
    case config::InitKind::kXavierNormal:
      torch::nn::init::xavier_normal_(weight);
      return;
    case config::InitKind::kKaimingUniform:
      torch::nn::init::kaiming_uniform_(weight, 0, torch::kFanIn, torch::kReLU);
      return;
    case config::InitKind::kKaimingNormal:
      torch::nn::init::kaiming_normal_(weight, 0, torch::kFanIn, torch::kReLU);
      return;
    case config::InitKind::kDefault:
      return;
  }
}
}  // namespace

void init_weights(nn::Network& network, config::InitKind init) {
  if (init == config::InitKind::kDefault) return;
  torch::NoGradGuard no_grad;
  // Every module, however deep in groups and branches, as d2l's `net.apply(init)` reaches them.
  for (const auto& module : network.body->modules(/*include_self=*/false)) {
    torch::Tensor weight;
    if (auto* conv = module->as<torch::nn::Conv2dImpl>()) weight = conv->weight;
    if (auto* linear = module->as<torch::nn::LinearImpl>()) weight = linear->weight;
    if (weight.defined()) initialise(weight, init);
  }
}

}  // namespace dlx::train
