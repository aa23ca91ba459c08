// Optimizers, the per-epoch learning-rate schedule, and weight initialisation, from their specs.
#pragma once

#include <torch/optim/optimizer.h>

#include <memory>

#include "framework/config/experiment.h"
#include "framework/nn/builder.h"

namespace dlx::train {

/// SGD (momentum, weight decay, Nesterov), Adam or AdamW over `parameters`.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const config::OptimizerSpec& spec,
                                                        std::vector<torch::Tensor> parameters);

/// The learning rate for 1-based `epoch` under the schedule (warm-up included).
double scheduled_lr(const config::TrainSpec& spec, int64_t epoch);

/// Sets every parameter group's learning rate.
void set_lr(torch::optim::Optimizer& optimizer, double lr);

/// Re-initialises conv and dense weights ("default" keeps LibTorch's own init). Biases keep
/// LibTorch's init, as d2l's PyTorch code does.
void init_weights(nn::Network& network, config::InitKind init);

}  // namespace dlx::train
