#include "framework/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <ATen/core/Dict.h>
#include <ATen/ops/scalar_tensor.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/serialize.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <sstream>

#include "framework/core/error.h"
#include "framework/core/files.h"

namespace dlx::train {

namespace fs = std::filesystem;

namespace {

std::string weights_bytes(const nn::Network& network) {
  c10::Dict<std::string, at::Tensor> weights;
  for (const auto& [key, value] : network.state())
    weights.insert(key, value.detach().to(at::kCPU).contiguous());
  std::vector<char> bytes = torch::pickle_save(c10::IValue(weights));
  return std::string(bytes.data(), bytes.size());
}

// Archives hold tensors; the state's numbers go in as 0-d tensors (doubles kept exact).
void write_number(torch::serialize::OutputArchive& archive, const std::string& key, double value) {
  archive.write(key, at::scalar_tensor(value, at::kDouble));
}
double read_number(torch::serialize::InputArchive& archive, const std::string& key) {
  at::Tensor t;
  archive.read(key, t);
  return t.item<double>();
}
// For keys added later: `absent` when an older state lacks it.
double read_number(torch::serialize::InputArchive& archive, const std::string& key, double absent) {
  at::Tensor t;
  return archive.try_read(key, t) ? t.item<double>() : absent;
}

}  // namespace

void save_weights(const fs::path& file, const nn::Network& network) {
  write_file_atomic(file, weights_bytes(network));
}

void save_checkpoint(const fs::path& folder, const nn::Network& network,
                     torch::optim::Optimizer& optimizer, const EpochState& next) {
  // train_state.pt holds the weights' fingerprint, so that a resume can tell them its own.
  const std::string weights = weights_bytes(network);
  write_file_atomic(last_weights_file(folder), weights);

  torch::serialize::OutputArchive archive, optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("rng_cpu", at::detail::getDefaultCPUGenerator().get_state());
  // Dropout on a GPU draws from that GPU's generator; without its state a resume is not exact.
  const auto parameters = network.body->parameters();
  const c10::Device device = parameters.empty() ? c10::kCPU : parameters.front().device();
  if (device.is_cuda()) {
    archive.write("rng_cuda", at::globalContext().defaultGenerator(device).get_state());
  }
  // An int64 fingerprint cannot pass through a double exactly; store it as two 32-bit halves.
  const uint64_t fingerprint = fnv1a(weights);
  write_number(archive, "checkpoint_fingerprint_high", double(fingerprint >> 32));
  write_number(archive, "checkpoint_fingerprint_low", double(fingerprint & 0xffffffffu));
  write_number(archive, "epoch", double(next.epoch));
  write_number(archive, "steps", double(next.steps));
  write_number(archive, "loss_sum", next.loss_sum);
  for (const auto& [name, sum] : next.metric_sums) write_number(archive, "metric_sum_" + name, sum);
  write_number(archive, "examples", double(next.examples));
  write_number(archive, "seconds", next.seconds);
  write_number(archive, "data_seconds", next.data_seconds);
  write_number(archive, "loss_scale", next.scaling.scale);
  write_number(archive, "loss_scale_good_steps", double(next.scaling.good_steps));
  write_number(archive, "skipped_steps", double(next.scaling.skipped_steps));
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_file_atomic(folder / "train_state.pt", bytes.str());
}

fs::path kept_weights_file(const fs::path& folder) {
  const fs::path best = best_weights_file(folder);
  return fs::exists(best) ? best : last_weights_file(folder);
}

std::map<std::string, torch::Tensor> read_weights(const fs::path& file) {
  std::string bytes = read_file(file);
  c10::IValue value;
  try {
    value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const std::exception&) {
    throw RuntimeError(file.string() + ": not a dlx checkpoint (cannot be unpickled)");
  }
  if (!value.isGenericDict()) {
    throw RuntimeError(file.string() + ": not a name-to-tensor dictionary");
  }
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
  for (auto& [key, value] : network.state()) load(key, value), ++expected;
  if (weights.size() != expected) {
    throw RuntimeError("checkpoint has " + std::to_string(weights.size()) + " tensors, the model " +
                       std::to_string(expected) + " (another model's?)");
  }
}

EpochState load_train_state(const fs::path& folder, torch::optim::Optimizer& optimizer,
                            c10::Device device) {
  const fs::path file = folder / "train_state.pt";
  const std::string state_bytes = read_file(file);
  torch::serialize::InputArchive archive, optimizer_archive;
  EpochState s;
  uint64_t fingerprint = 0;
  try {
    std::istringstream in(state_bytes);
    archive.load_from(in);
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
    at::Tensor rng;
    archive.read("rng_cpu", rng);
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    generator.set_state(rng);
    if (device.is_cuda() && archive.try_read("rng_cuda", rng)) {
      at::Generator cuda_generator = at::globalContext().defaultGenerator(device);
      cuda_generator.set_state(rng);
    }
    fingerprint = (uint64_t(read_number(archive, "checkpoint_fingerprint_high")) << 32) |
                  uint64_t(read_number(archive, "checkpoint_fingerprint_low"));
    s.epoch = int64_t(read_number(archive, "epoch"));
    s.steps = int64_t(read_number(archive, "steps"));
    s.loss_sum = read_number(archive, "loss_sum");
    // Every metric's sum the state holds (train.metrics' too: top5_acc); states from before the
    // metric registry hold acc's as "correct".
    s.metric_sums["acc"] = read_number(archive, "correct", 0.0);
    const std::string prefix = "metric_sum_";
    for (const auto& key : archive.keys())
      if (key.rfind(prefix, 0) == 0)
        s.metric_sums[key.substr(prefix.size())] = read_number(archive, key);
    s.examples = int64_t(read_number(archive, "examples"));
    s.seconds = read_number(archive, "seconds");
    s.data_seconds = read_number(archive, "data_seconds");
    // Training states from before loss scaling have none of these: no scaling.
    s.scaling.scale = read_number(archive, "loss_scale", 0.0);
    s.scaling.good_steps = int64_t(read_number(archive, "loss_scale_good_steps", 0.0));
    s.scaling.skipped_steps = int64_t(read_number(archive, "skipped_steps", 0.0));
  } catch (const c10::Error&) {
    throw RuntimeError(file.string() + ": not a dlx training state, or one of another model");
  }
  if (fnv1a(read_file(last_weights_file(folder))) != fingerprint) {
    throw RuntimeError(last_weights_file(folder).string() +
                       " is not the one saved with train_state.pt (the run was killed while "
                       "saving); it cannot be resumed exactly");
  }
  return s;
}

}  // namespace dlx::train
