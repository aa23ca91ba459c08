// Mixed precision for a forward pass, as Python's torch.autocast does it: inside an Autocast's
// scope, the ops LibTorch's autocast lists (convolutions, matrix products) run in bfloat16 (or
// float16) on cached copies of the float32 weights (one exception on the CPU: Conv2dActImpl's
// large depthwise convolutions, nn/layers.cpp). The weights, their gradients and the
// optimizer's state stay float32, so checkpoints are unchanged; the loss is computed on float32
// logits.
#pragma once

#include <c10/core/Device.h>

#include "framework/config/experiment.h"

namespace dlx::nn {

class Autocast {
 public:
  /// Turns autocast on for `device`'s type when `precision` is not fp32; else does nothing.
  Autocast(config::PrecisionKind precision, const c10::Device& device);
  /// Restores the previous state. The outermost scope clears the weight-cast cache, as Python's
  /// context manager does: the copies belong to this step's weights, which the optimizer changes.
  ~Autocast();
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  bool active_ = false;
  c10::DeviceType type_ = c10::DeviceType::CPU;
  bool was_enabled_ = false;
  c10::ScalarType was_dtype_ = c10::ScalarType::BFloat16;
};

/// Whether autocast is on for `type` in this thread, and the dtype it casts to there.
bool autocast_enabled(c10::DeviceType type);
c10::ScalarType autocast_dtype(c10::DeviceType type);

/// Autocast off for `type` within this scope, as Python's torch.autocast(enabled=False) inside an
/// autocast region; the previous state comes back at the end of the scope.
class AutocastOff {
 public:
  explicit AutocastOff(c10::DeviceType type);
  ~AutocastOff();
  AutocastOff(const AutocastOff&) = delete;
  AutocastOff& operator=(const AutocastOff&) = delete;

 private:
  c10::DeviceType type_;
  bool was_enabled_;
};

/// Whether this CPU has bfloat16 arithmetic (AVX512-BF16 or AMX-BF16), from /proc/cpuinfo's flags.
/// Without it, bf16 autocast on the CPU is emulated and slower than float32.
bool cpu_has_bf16();

}  // namespace dlx::nn
