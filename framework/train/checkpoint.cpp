#include "framework/train/checkpoint.h"

#include <ATen/core/Dict.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/serialize.h>

#include <sstream>

#include "framework/core/error.h"
#include "framework/core/files.h"

namespace dlx::train {

namespace fs = std::filesystem;

void save_checkpoint(const fs::path& folder, const nn::Network& network,
                     torch::optim::Optimizer& optimizer) {
  c10::Dict<std::string, at::Tensor> weights;
  for (const auto& item : network.body->named_parameters()) {
    weights.insert(item.key(), item.value().detach().to(at::kCPU).contiguous());
  }
  for (const auto& item : network.body->named_buffers()) {
    weights.insert(item.key(), item.value().detach().to(at::kCPU).contiguous());
  }
  std::vector<char> bytes = torch::pickle_save(c10::IValue(weights));
  write_file_atomic(folder / "checkpoint.pt", std::string_view(bytes.data(), bytes.size()));

  std::ostringstream state;
  torch::save(optimizer, state);
  write_file_atomic(folder / "optimizer.pt", state.str());
}

std::map<std::string, torch::Tensor> read_weights(const fs::path& file) {
  std::string bytes = read_file(file);
  c10::IValue value;
  try {
    value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const std::exception&) {
    throw RuntimeError(file.string() + ": not a dlx checkpoint (cannot be unpickled)");
  }
  if (!value.isGenericDict())
    throw RuntimeError(file.string() + ": not a name-to-tensor dictionary");
  std::map<std::string, torch::Tensor> out;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor()) {
      throw RuntimeError(file.string() + ": not a name-to-tensor dictionary");
    }
    out[entry.key().toStringRef()] = entry.value().toTensor();
  }
  return out;
}

void load_weights(nn::Network& network, const std::map<std::string, torch::Tensor>& weights) {
  torch::NoGradGuard no_grad;
  auto load = [&](const std::string& name, torch::Tensor& target) {
    auto it = weights.find(name);
    if (it == weights.end())
      throw RuntimeError("checkpoint has no " + name + " (another model's?)");
    if (!it->second.sizes().equals(target.sizes())) {
      throw RuntimeError("checkpoint's " + name + " has shape " + c10::str(it->second.sizes()) +
                         ", the model's has " + c10::str(target.sizes()) + " (another model's?)");
    }
    target.copy_(it->second);
  };
  size_t expected = 0;
  for (auto& item : network.body->named_parameters()) load(item.key(), item.value()), ++expected;
  for (auto& item : network.body->named_buffers()) load(item.key(), item.value()), ++expected;
  if (weights.size() != expected) {
    throw RuntimeError("checkpoint has " + std::to_string(weights.size()) + " tensors, the model " +
                       std::to_string(expected) + " (another model's?)");
  }
}

void load_optimizer(const fs::path& file, torch::optim::Optimizer& optimizer) {
  try {
    torch::load(optimizer, file.string());
  } catch (const c10::Error& e) {
    throw RuntimeError(file.string() + ": cannot load optimizer state");
  }
}

}  // namespace dlx::train
