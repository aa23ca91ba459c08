#include "framework/nn/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <fstream>
#include <sstream>

namespace dlx::nn {

namespace {

// LibTorch 2.4 took the device type as an argument and deprecated the per-device functions.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool enabled(c10::DeviceType type) {
  return at::autocast::is_autocast_enabled(type);
}
void set_enabled(c10::DeviceType type, bool on) {
  at::autocast::set_autocast_enabled(type, on);
}
c10::ScalarType dtype(c10::DeviceType type) {
  return at::autocast::get_autocast_dtype(type);
}
void set_dtype(c10::DeviceType type, c10::ScalarType t) {
  at::autocast::set_autocast_dtype(type, t);
}
#else
bool enabled(c10::DeviceType type) {
  return type == c10::DeviceType::CUDA ? at::autocast::is_enabled()
                                       : at::autocast::is_cpu_enabled();
}
void set_enabled(c10::DeviceType type, bool on) {
  type == c10::DeviceType::CUDA ? at::autocast::set_enabled(on) : at::autocast::set_cpu_enabled(on);
}
c10::ScalarType dtype(c10::DeviceType type) {
  return type == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype()
                                       : at::autocast::get_autocast_cpu_dtype();
}
void set_dtype(c10::DeviceType type, c10::ScalarType t) {
  type == c10::DeviceType::CUDA ? at::autocast::set_autocast_gpu_dtype(t)
                                : at::autocast::set_autocast_cpu_dtype(t);
}
#endif

}  // namespace

Autocast::Autocast(config::PrecisionKind precision, const c10::Device& device) {
  if (precision == config::PrecisionKind::kFp32) return;
  active_ = true;
  type_ = device.type();
  was_enabled_ = enabled(type_);
  was_dtype_ = dtype(type_);
  set_enabled(type_, true);
  set_dtype(type_, precision == config::PrecisionKind::kFp16 ? c10::ScalarType::Half
                                                             : c10::ScalarType::BFloat16);
  at::autocast::increment_nesting();
}

Autocast::~Autocast() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_enabled(type_, was_enabled_);
  set_dtype(type_, was_dtype_);
}

bool autocast_enabled(c10::DeviceType type) {
  return enabled(type);
}

c10::ScalarType autocast_dtype(c10::DeviceType type) {
  return dtype(type);
}

AutocastOff::AutocastOff(c10::DeviceType type) : type_(type), was_enabled_(enabled(type)) {
  set_enabled(type_, false);
}

AutocastOff::~AutocastOff() {
  set_enabled(type_, was_enabled_);
}

bool cpu_has_bf16() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream flags(line.substr(line.find(':') + 1));
    for (std::string flag; flags >> flag;)
      if (flag == "avx512_bf16" || flag == "amx_bf16") return true;
    return false;
  }
  return false;
}

}  // namespace dlx::nn
