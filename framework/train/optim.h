// Optimizers, the per-epoch learning-rate schedule, and weight initialisation, from their specs.
#pragma once

#include <torch/optim/optimizer.h>

#include <memory>

#include "framework/config/experiment.h"
#include "framework/nn/builder.h"

namespace dlx::train {

/// Whether a checkpoint name is one of `patterns`: names, or globs (`layer1.*`) as fnmatch's.
bool name_matches(const std::string& name, const std::vector<std::string>& patterns);

/// The optimizer's parameter groups: train.groups by name (the first that matches takes a
/// parameter), then biases (bias_weight_decay) and normalisation layers' parameters
/// (norm_weight_decay), as torchvision's set_weight_decay orders them, then the rest.
struct ParamGroup {
  std::string name;  // "groups[0]", "bias", "norm" or "other"
  std::vector<torch::Tensor> params;
  std::vector<std::string> keys;  // their checkpoint names
  double lr_mult = 1;
  double weight_decay = 0;
};

/// A pattern of train.groups or train.freeze that matches no parameter is a ConfigError.
std::vector<ParamGroup> parameter_groups(const config::ExperimentSpec& spec,
                                         const nn::Network& network);

/// SGD (momentum, weight decay, Nesterov), Adam or AdamW over `groups`.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const config::OptimizerSpec& spec,
                                                        const std::vector<ParamGroup>& groups);

/// The learning rate after `done` epochs of training (fractional between per-step updates; an
/// epoch's start otherwise), under the schedule and its warm-up. `updates_per_epoch` converts
/// warmup_steps to epochs.
double lr_at(const config::TrainSpec& spec, double done, double updates_per_epoch = 0);

/// The learning rate at the start of 1-based `epoch`.
inline double scheduled_lr(const config::TrainSpec& spec, int64_t epoch) {
  return lr_at(spec, double(epoch - 1));
}

/// Sets each parameter group's learning rate: `lr` times its multiplier.
void set_lr(torch::optim::Optimizer& optimizer, double lr, const std::vector<ParamGroup>& groups);

/// Keeps train.freeze's parameters fixed at `epoch` (before train.thaw_epoch) and lets them
/// train from then on; returns how many are frozen.
int64_t apply_freeze(const config::TrainSpec& spec, const nn::Network& network, int64_t epoch);

/// Training mode for the network, except batch norm layers whose parameters are all frozen:
/// they stay in evaluation mode, so that their running statistics do not move.
void train_mode(nn::Network& network);

/// Re-initialises conv and dense weights ("default" keeps LibTorch's own init). Biases keep
/// LibTorch's init, as d2l's PyTorch code does.
void init_weights(nn::Network& network, config::InitKind init);

}  // namespace dlx::train
