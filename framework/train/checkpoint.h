// checkpoint.pt: the weights as a name-to-tensor dictionary (parameters and buffers such as batch
// norm's running statistics, keyed "conv0.weight" as the layer names say), in the zip+pickle
// format that Python's torch.load reads. optimizer.pt beside it holds the optimizer's state in
// LibTorch's archive format, for resuming.
#pragma once

#include <torch/optim/optimizer.h>

#include <filesystem>
#include <map>
#include <string>

#include "framework/nn/builder.h"

namespace dlx::train {

/// Writes checkpoint.pt and optimizer.pt into `folder`, each atomically.
void save_checkpoint(const std::filesystem::path& folder, const nn::Network& network,
                     torch::optim::Optimizer& optimizer);

/// Reads checkpoint.pt's name-to-tensor dictionary. A missing or corrupt file is a RuntimeError.
std::map<std::string, torch::Tensor> read_weights(const std::filesystem::path& file);

/// Loads weights into `network`; a missing key, an unknown key or a shape mismatch is a
/// RuntimeError naming it (the checkpoint is of another model).
void load_weights(nn::Network& network, const std::map<std::string, torch::Tensor>& weights);

/// Loads optimizer.pt into `optimizer`.
void load_optimizer(const std::filesystem::path& file, torch::optim::Optimizer& optimizer);

}  // namespace dlx::train
