#include "framework/train/gpu_memory.h"

#ifdef DLX_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace dlx::train {

#ifdef DLX_CUDA
namespace {
c10::DeviceIndex index_of(const c10::Device& device) {
  return device.has_index() ? device.index() : 0;
}
constexpr size_t kAggregate = 0;  // StatType::AGGREGATE: both pools, large and small
constexpr double kMiB = 1024.0 * 1024.0;
}  // namespace

void reset_peak_gpu_memory(const c10::Device& device) {
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(index_of(device));
}

std::optional<GpuMemory> peak_gpu_memory(const c10::Device& device) {
  if (!device.is_cuda()) return std::nullopt;
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index_of(device));
  return GpuMemory{double(stats.allocated_bytes[kAggregate].peak) / kMiB,
                   double(stats.reserved_bytes[kAggregate].peak) / kMiB};
}
#else
void reset_peak_gpu_memory(const c10::Device&) {}
std::optional<GpuMemory> peak_gpu_memory(const c10::Device&) {
  return std::nullopt;
}
#endif

}  // namespace dlx::train
