// What a run folder keeps so that the run can be examined and resumed exactly:
// - checkpoint.pt: the weights as a name-to-tensor dictionary (parameters and buffers such as batch
//   norm's running statistics, keyed "conv0.weight" as the layer names say), in the zip+pickle
//   format that Python's torch.load reads;
// - train_state.pt: the optimizer's state, the RNG states (the CPU's, and the GPU's when the run
//   trained on one), where the epoch stands (EpochState) and a fingerprint of checkpoint.pt, so
//   that a pair written by different steps is never mixed.
#pragma once

#include <torch/optim/optimizer.h>

#include <filesystem>
#include <map>
#include <string>

#include "framework/nn/builder.h"
#include "framework/train/trainer.h"

namespace dlx::train {

/// The run folder's weights files: the last epoch's (with train_state.pt), and the epoch that
/// train.select chose when it goes by a metric.
inline std::filesystem::path last_weights_file(const std::filesystem::path& folder) {
  return folder / "checkpoint.pt";
}
inline std::filesystem::path best_weights_file(const std::filesystem::path& folder) {
  return folder / "checkpoint_best.pt";
}
/// The weights a run keeps as its model: the best epoch's when it has one, else the last.
std::filesystem::path kept_weights_file(const std::filesystem::path& folder);

/// Writes the network's weights (parameters and buffers, on the CPU) to `file` atomically, as the
/// name-to-tensor dictionary that checkpoint.pt is.
void save_weights(const std::filesystem::path& file, const nn::Network& network);

/// Writes checkpoint.pt, then train_state.pt, each atomically. `next` is where training resumes.
void save_checkpoint(const std::filesystem::path& folder, const nn::Network& network,
                     torch::optim::Optimizer& optimizer, const EpochState& next);

/// Reads a checkpoint's name-to-tensor dictionary. A missing or corrupt file is a RuntimeError.
std::map<std::string, torch::Tensor> read_weights(const std::filesystem::path& file);

/// Loads weights into `network`; a missing key, an unknown key or a shape mismatch is a
/// RuntimeError naming it (the checkpoint is of another model).
void load_weights(nn::Network& network, const std::map<std::string, torch::Tensor>& weights);

/// Restores the optimizer and the RNGs (the CPU's, and `device`'s when it is a GPU) from `folder`'s
/// train_state.pt and returns where training resumes. Checks that checkpoint.pt is the one saved
/// with it.
EpochState load_train_state(const std::filesystem::path& folder, torch::optim::Optimizer& optimizer,
                            c10::Device device);

}  // namespace dlx::train
