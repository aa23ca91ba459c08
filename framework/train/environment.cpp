#include "framework/train/environment.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <cstdlib>

#include "framework/core/error.h"
#include "framework/core/system.h"
#include "framework/nn/precision.h"

namespace dlx::train {

c10::Device resolve_device(const std::string& name) {
  if (name == "cpu") return c10::kCPU;
  const bool available = torch::cuda::is_available();
  if (name == "auto") return available ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  c10::Device device(name);
  if (!available)
    throw RuntimeError("train.device is " + name + " but no CUDA device is available");
  if (device.has_index() && device.index() >= static_cast<int>(torch::cuda::device_count())) {
    throw RuntimeError("train.device is " + name + " but only " +
                       std::to_string(torch::cuda::device_count()) + " CUDA device(s) exist");
  }
  return device.has_index() ? device : c10::Device(c10::kCUDA, 0);
}

int configure_threads(int64_t requested) {
  int threads = requested > 0 ? static_cast<int>(requested) : physical_cores();
  // OpenBLAS's OpenMP build (what tools/setup selects) follows the OpenMP setting below; BLIS,
  // should a user select it, reads its thread count once from the environment.
  setenv("BLIS_NUM_THREADS", std::to_string(threads).c_str(), /*overwrite=*/0);
  at::set_num_threads(threads);
  return threads;
}

namespace {
std::string gpu_name(const c10::Device& device) {
  const std::string name = cuda_device_name(device.has_index() ? device.index() : 0);
  return name.empty() ? "CUDA device " + device.str() : name;
}
}  // namespace

config::PrecisionKind usable_precision(config::PrecisionKind requested, const c10::Device& device,
                                       std::string* note) {
  using config::PrecisionKind;
  if (requested == PrecisionKind::kFp32 || !device.is_cpu()) return requested;
  if (requested == PrecisionKind::kBf16 && nn::cpu_has_bf16()) return requested;
  if (note)
    *note = requested == PrecisionKind::kFp16
                ? "train.precision: fp16 (with loss scaling) is for CUDA GPUs; training in fp32 "
                  "(on the CPU, bf16 is the half precision)"
                : "train.precision: this CPU (" + cpu_model() +
                      ") has no bfloat16 arithmetic (AVX512-BF16 or AMX); training in fp32";
  return PrecisionKind::kFp32;
}

report::EnvironmentRecord environment_record(const c10::Device& device, int threads) {
  report::EnvironmentRecord e;
  e.dlx_version = DLX_VERSION;
  e.libtorch_version = TORCH_VERSION;
  e.device = device.str();
  e.device_name = device.is_cpu() ? cpu_model() : gpu_name(device);
  e.threads = threads;
  e.blas = loaded_blas();
  e.host = host_name();
  e.started = utc_now();
  return e;
}

report::ModelRecord model_record(const nn::Network& net, const std::string& name) {
  report::ModelRecord m{name, net.input, net.parameters(), net.macs(), {}};
  for (const auto& l : net.layers)
    m.layers.push_back({l.name, l.type, l.output, l.parameters, l.macs});
  return m;
}

}  // namespace dlx::train
