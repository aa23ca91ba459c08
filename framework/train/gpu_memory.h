// The peak GPU memory of a run, from LibTorch's CUDA caching allocator: what tensors used at most
// ("allocated") and what the allocator held from the driver at most ("reserved", near what
// nvidia-smi shows less the CUDA context). Compiled in where LibTorch has CUDA (CMake finds
// c10_cuda); elsewhere there is none to report.
#pragma once

#include <c10/core/Device.h>

#include <optional>

namespace dlx::train {

struct GpuMemory {
  double allocated_mib = 0, reserved_mib = 0;
};

/// Starts counting the peak afresh on `device` (nothing for a CPU).
void reset_peak_gpu_memory(const c10::Device& device);
/// The peak since the last reset; none for a CPU, or where this dlx was built without CUDA.
std::optional<GpuMemory> peak_gpu_memory(const c10::Device& device);

}  // namespace dlx::train
