// One epoch's batches of a split. The order is drawn from (seed, epoch), so an epoch's order is
// the same whether a run went straight through or was resumed. Each batch is gathered from the
// uint8 tensor, moved to the device, scaled to [0, 1] (as d2l's ToTensor) and resized there,
// a whole batch at a time.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "framework/data/dataset.h"

namespace dlx::data {

struct Batch {
  at::Tensor images;  // float [B, C, H, W] in [0, 1], on the device
  at::Tensor labels;  // int64 [B], on the device
};

struct BatchOptions {
  int64_t batch_size = 256;
  bool shuffle = true;
  uint64_t seed = 0;
  int64_t resize = 0;  // 0 keeps the stored size
  c10::Device device = c10::kCPU;
};

class BatchIterator {
 public:
  /// The batches of `epoch`, starting after the first `skip` batches (to continue an epoch).
  BatchIterator(const Split& split, const BatchOptions& options, int64_t epoch, int64_t skip = 0);

  /// Batches in the epoch; the last one may be smaller (as with d2l's DataLoader).
  int64_t count() const { return (split_.size() + options_.batch_size - 1) / options_.batch_size; }
  /// Fills `out` with the next batch; false at the end of the epoch.
  bool next(Batch& out);

 private:
  const Split& split_;
  BatchOptions options_;
  at::Tensor order_;  // int64 permutation, or undefined for the stored order
  int64_t position_ = 0;
};

/// Scales a uint8 image batch to float [0, 1] and resizes it (bilinear) on its device.
at::Tensor prepare_images(const at::Tensor& images_u8, int64_t resize);

}  // namespace dlx::data
