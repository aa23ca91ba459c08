#include "framework/train/optim.h"

#include <torch/nn/init.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <fnmatch.h>
#include <torch/nn/modules/batchnorm.h>

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "framework/core/error.h"
#include "framework/nn/layers.h"

namespace dlx::train {

namespace {

// The model's parameters (not buffers) under their checkpoint names, in order.
std::vector<std::pair<std::string, torch::Tensor>> named_parameters(const nn::Network& net) {
  std::unordered_set<const void*> parameters;
  for (const auto& p : net.body->parameters()) parameters.insert(p.unsafeGetTensorImpl());
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& [key, t] : net.state())
    if (parameters.count(t.unsafeGetTensorImpl())) out.emplace_back(key, t);
  return out;
}

// Checkpoint-name prefixes of the normalisation layers.
std::vector<std::string> norm_layers(const nn::Network& net) {
  std::vector<std::string> out;
  for (const auto& l : net.layers)
    if (l.type == "batchnorm2d" || l.type == "batchnorm1d" || l.type == "layernorm" ||
        l.type == "groupnorm" || l.type == "local_response_norm")
      out.push_back(l.name);
  return out;
}

bool under(const std::string& key, const std::string& layer) {
  return key.size() > layer.size() && key.compare(0, layer.size(), layer) == 0 &&
         key[layer.size()] == '.';
}

// Each pattern must match some name: a typo would otherwise change nothing, silently.
void check_patterns(const config::ExperimentSpec& spec, const std::string& key,
                    const std::vector<std::string>& patterns,
                    const std::vector<std::string>& names) {
  for (const auto& p : patterns) {
    if (std::any_of(names.begin(), names.end(),
                    [&](const std::string& n) { return name_matches(n, {p}); }))
      continue;
    const std::string hint = did_you_mean(p, names);
    throw ConfigError::plain(spec.locate(key), key,
                             "'" + p + "' matches none of the model's parameters" +
                                 (hint.empty() ? "" : " (" + hint + ")") +
                                 " (`dlx shapes FILE --keys` lists them)");
  }
}

// Adam and AdamW take the same options under different types.
template <class Optimizer, class Options>
std::unique_ptr<torch::optim::Optimizer> make_adam(const config::OptimizerSpec& s,
                                                   const std::vector<ParamGroup>& groups) {
  std::vector<torch::optim::OptimizerParamGroup> torch_groups;
  for (const auto& g : groups)
    torch_groups.emplace_back(g.params,
                              std::make_unique<Options>(Options(s.lr * g.lr_mult)
                                                            .betas({s.betas[0], s.betas[1]})
                                                            .eps(s.eps)
                                                            .weight_decay(g.weight_decay)));
  return std::make_unique<Optimizer>(std::move(torch_groups), Options(s.lr));
}

}  // namespace

bool name_matches(const std::string& name, const std::vector<std::string>& patterns) {
  for (const auto& p : patterns)
    if (p == name || fnmatch(p.c_str(), name.c_str(), 0) == 0) return true;
  return false;
}

std::vector<ParamGroup> parameter_groups(const config::ExperimentSpec& spec,
                                         const nn::Network& net) {
  const config::TrainSpec& t = spec.train;
  const auto params = named_parameters(net);
  std::vector<std::string> names;
  for (const auto& [key, p] : params) names.push_back(key);
  check_patterns(spec, "train.freeze", t.freeze, names);
  for (size_t i = 0; i < t.groups.size(); ++i)
    check_patterns(spec, "train.groups[" + std::to_string(i) + "].params", t.groups[i].params,
                   names);
  const double decay = t.optimizer.weight_decay;
  std::vector<ParamGroup> groups;
  for (size_t i = 0; i < t.groups.size(); ++i)
    groups.push_back({"groups[" + std::to_string(i) + "]",
                      {},
                      {},
                      t.groups[i].lr_mult,
                      t.groups[i].weight_decay >= 0 ? t.groups[i].weight_decay : decay});
  const size_t bias = groups.size(), norm = bias + 1, other = norm + 1;
  groups.push_back({"bias", {}, {}, 1, t.bias_weight_decay >= 0 ? t.bias_weight_decay : decay});
  groups.push_back({"norm", {}, {}, 1, t.norm_weight_decay >= 0 ? t.norm_weight_decay : decay});
  groups.push_back({"other", {}, {}, 1, decay});
  const std::vector<std::string> norms = norm_layers(net);
  for (const auto& [key, p] : params) {
    size_t g = other;
    for (size_t i = 0; i < t.groups.size() && g == other; ++i)
      if (name_matches(key, t.groups[i].params)) g = i;
    if (g == other && t.bias_weight_decay >= 0 && key.size() > 5 &&
        key.compare(key.size() - 5, 5, ".bias") == 0)
      g = bias;
    if (g == other && t.norm_weight_decay >= 0 &&
        std::any_of(norms.begin(), norms.end(),
                    [&](const std::string& l) { return under(key, l); }))
      g = norm;
    groups[g].params.push_back(p);
    groups[g].keys.push_back(key);
  }
  // Empty groups go (an optimizer group must hold parameters); the order of the rest is fixed
  // by the config alone, so a resumed run's optimizer state finds its groups.
  groups.erase(std::remove_if(groups.begin(), groups.end(),
                              [](const ParamGroup& g) { return g.params.empty(); }),
               groups.end());
  return groups;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const config::OptimizerSpec& s,
                                                        const std::vector<ParamGroup>& groups) {
  switch (s.type) {
    case config::OptimizerKind::kAdam:
      return make_adam<torch::optim::Adam, torch::optim::AdamOptions>(s, groups);
    case config::OptimizerKind::kAdamW:
      return make_adam<torch::optim::AdamW, torch::optim::AdamWOptions>(s, groups);
    case config::OptimizerKind::kSgd:
      break;
  }
  auto options = [&](double lr_mult, double weight_decay) {
    return torch::optim::SGDOptions(s.lr * lr_mult)
        .momentum(s.momentum)
        .weight_decay(weight_decay)
        .nesterov(s.nesterov);
  };
  std::vector<torch::optim::OptimizerParamGroup> torch_groups;
  for (const auto& g : groups)
    torch_groups.emplace_back(
        g.params, std::make_unique<torch::optim::SGDOptions>(options(g.lr_mult, g.weight_decay)));
  return std::make_unique<torch::optim::SGD>(std::move(torch_groups), options(1, s.weight_decay));
}

namespace {

// The warm-up's share of the lr after `done` of its `span` epochs: linear from the start factor
// (torchvision's LinearLR); without one, lr * e / span in epoch e per epoch (d2l's), from 0 per
// step.
double warmup_factor(const config::SchedulerSpec& s, double done, double span) {
  if (s.warmup_start_factor > 0)
    return s.warmup_start_factor + (1.0 - s.warmup_start_factor) * done / span;
  return s.per_step ? done / span : (done + 1.0) / span;
}

}  // namespace

double lr_at(const config::TrainSpec& spec, double done, double updates_per_epoch) {
  const config::SchedulerSpec& s = spec.scheduler;
  const double base = spec.optimizer.lr;
  const double warm =
      s.warmup_steps > 0 ? double(s.warmup_steps) / updates_per_epoch : double(s.warmup_epochs);
  if (done < warm) return base * warmup_factor(s, done, warm);
  const double t = done - warm;  // epochs done since warm-up
  switch (s.type) {
    case config::SchedulerKind::kStep:
      return base * std::pow(s.gamma, std::floor(t / double(s.step_size) + 1e-9));
    case config::SchedulerKind::kMultistep: {
      int64_t passed = 0;
      for (int64_t m : s.milestones) passed += done >= double(m);
      return base * std::pow(s.gamma, double(passed));
    }
    case config::SchedulerKind::kCosine: {
      const double span = double(spec.epochs) - warm;
      return s.min_lr + (base - s.min_lr) * 0.5 * (1.0 + std::cos(M_PI * t / span));
    }
    case config::SchedulerKind::kNone:
      break;
  }
  return base;
}

void set_lr(torch::optim::Optimizer& optimizer, double lr, const std::vector<ParamGroup>& groups) {
  auto& torch_groups = optimizer.param_groups();
  for (size_t i = 0; i < torch_groups.size(); ++i)
    torch_groups[i].options().set_lr(lr * groups.at(i).lr_mult);
}

int64_t apply_freeze(const config::TrainSpec& spec, const nn::Network& net, int64_t epoch) {
  const bool frozen = spec.thaw_epoch == 0 || epoch < spec.thaw_epoch;
  int64_t count = 0;
  for (auto [key, p] : named_parameters(net)) {
    const bool freeze = frozen && name_matches(key, spec.freeze);
    p.requires_grad_(!freeze);
    count += freeze;
  }
  return count;
}

void train_mode(nn::Network& net) {
  net.body->train();
  for (const auto& module : net.body->modules(/*include_self=*/false)) {
    const bool norm =
        module->as<torch::nn::BatchNorm2dImpl>() || module->as<torch::nn::BatchNorm1dImpl>();
    const auto params = module->parameters();
    if (norm && !params.empty() &&
        std::none_of(params.begin(), params.end(),
                     [](const torch::Tensor& p) { return p.requires_grad(); }))
      module->eval();
  }
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
