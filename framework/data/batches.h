// One epoch's batches of a split. The order is drawn from (seed, epoch), so an epoch's order is
// the same whether a run went straight through or was resumed. Each batch is gathered from the
// uint8 tensor (or decoded from its files), moved to the device, and there, a whole batch at a
// time, scaled to [0, 1] (as d2l's ToTensor), resized, augmented and normalised. With `prefetch`, a
// second thread prepares the next batch while the caller trains on the current one; the batches and
// their order are the same either way.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include "framework/data/augment.h"
#include "framework/data/dataset.h"

namespace dlx::data {

struct Batch {
  at::Tensor images;  // float [B, C, H, W] in [0, 1], on the device
  at::Tensor labels;  // int64 [B], on the device
};

// How batches are made. Its defaults are the data section's (config::DataSpec), written once
// there; batch_options() fills it from a run's data section.
struct BatchOptions {
  int64_t batch_size = config::DataSpec{}.batch_size;
  bool shuffle = true;
  uint64_t seed = 0;
  config::Size2 resize;  // empty keeps the stored size
  c10::Device device = c10::kCPU;
  bool prefetch = config::DataSpec{}.prefetch;
  bool channels_last = false;  // images in NHWC memory order
  Normalization normalize;     // per channel, after scaling; empty = none
  std::vector<config::AugmentSpec> augment;
  bool augmenting = false;  // draw the augmentations (training); else their eval counterpart
  EvalResize eval_resize;   // data.val_resize and val_crop, for evaluation batches
  // Data parallelism: each step takes `world` batches' worth of the epoch's order (one global
  // batch), and rank `rank` gets its own contiguous part of it: so the ranks together see the
  // batches one process with batch_size * world would. A last global batch smaller than `world`
  // examples is dropped, so that no rank's part is empty.
  int rank = 0;
  int world = 1;
};

/// The batches a run's data section asks for, on `device`, normalised with `normalize`:
/// shuffled (from `seed`) and augmented when `training`, else in order with the augmentations'
/// evaluation counterparts.
BatchOptions batch_options(const config::DataSpec& data, c10::Device device,
                           const Normalization& normalize, bool training, uint64_t seed = 0);

class BatchIterator {
 public:
  /// The batches of `epoch`, starting after the first `skip` batches (to continue an epoch).
  BatchIterator(const Split& split, const BatchOptions& options, int64_t epoch, int64_t skip = 0);
  ~BatchIterator();
  BatchIterator(const BatchIterator&) = delete;
  BatchIterator& operator=(const BatchIterator&) = delete;

  /// Batches (steps) in the epoch; the last one may be smaller (as with d2l's DataLoader).
  int64_t count() const;
  /// The examples of the current step over all ranks (after next()).
  int64_t global_size() const { return global_size_; }
  /// Fills `out` with the next batch; false at the end of the epoch.
  bool next(Batch& out);

 private:
  // Prepares the batch at position_ on the calling thread; `global_size` gets the step's size.
  bool gather(Batch& out, int64_t& global_size);
  void prefetch_loop();

  const Split& split_;
  BatchOptions options_;
  int64_t epoch_ = 0;
  at::Tensor order_;         // int64 permutation, or undefined for the stored order
  int64_t position_ = 0;     // in the epoch's order, at a global batch's start
  int64_t global_size_ = 0;  // of the step last gathered

  // The prefetching thread hands over one batch at a time through `ready_`.
  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable changed_;
  Batch ready_;
  int64_t ready_global_size_ = 0;
  bool full_ = false;      // ready_ holds a batch (or the end, or an error) not yet taken
  bool ended_ = false;     // the worker reached the end of the epoch
  bool stopping_ = false;  // the iterator is being destroyed
  std::exception_ptr error_;
};

/// Makes LibTorch's operations on the calling (helper) thread use one thread: a second OpenMP
/// team would fight the training step's team for the cores.
void use_one_thread_here();

/// A uint8 image batch as the network takes it, on the batch's device: scaled to [0, 1], resized
/// (bilinear), augmented with the draws of `at` (when options.augmenting) or brought to the
/// evaluation size, normalised, erased (random_erasing, training), in the memory format asked.
at::Tensor prepare_images(const at::Tensor& images_u8, const BatchOptions& options,
                          const DrawPosition& at = {});

}  // namespace dlx::data
