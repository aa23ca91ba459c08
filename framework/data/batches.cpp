#include "framework/data/batches.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/randperm.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/upsample_bilinear2d.h>
#include <omp.h>

namespace dlx::data {

BatchIterator::BatchIterator(const Split& split, const BatchOptions& options, int64_t epoch,
                             int64_t skip)
    : split_(split),
      options_(options),
      epoch_(epoch),
      position_(std::min(skip * options.batch_size * options.world, split.size())) {
  if (options_.shuffle) {
    // One generator per epoch, seeded from the run's seed and the epoch number.
    at::Generator gen =
        at::detail::createCPUGenerator(options_.seed * 1000003ull + uint64_t(epoch));
    order_ = at::randperm(split_.size(), gen, at::kLong);
  }
  if (options_.prefetch) worker_ = std::thread([this] { prefetch_loop(); });
}

BatchIterator::~BatchIterator() {
  if (!worker_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

void use_one_thread_here() {
  // LibTorch sets each new thread's team size on first use, so that use comes first.
  at::get_num_threads();
  omp_set_num_threads(1);
}

void BatchIterator::prefetch_loop() {
  use_one_thread_here();
  while (true) {
    Batch batch;
    int64_t global = 0;
    bool more = false;
    std::exception_ptr error;
    try {
      more = gather(batch, global);
    } catch (...) {
      error = std::current_exception();
    }
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return !full_ || stopping_; });
    if (stopping_) return;
    ready_ = std::move(batch);
    ready_global_size_ = global;
    ended_ = !more, error_ = error, full_ = true;
    changed_.notify_all();
    if (!more) return;
  }
}

at::Tensor prepare_images(const at::Tensor& images_u8, const BatchOptions& o,
                          const DrawPosition& at) {
  at::Tensor x = images_u8.to(at::kFloat).div_(255.0);
  const config::Size2 size = o.resize;
  if (!size.empty() && (x.size(2) != size.h || x.size(3) != size.w)) {
    x = at::upsample_bilinear2d(x, {size.h, size.w}, /*align_corners=*/false);
  }
  if (o.augmenting)
    x = augment(x, o.augment, at);
  else
    x = augment_eval(x, o.augment, o.eval_resize);
  if (!o.normalize.empty()) {
    const int64_t c = int64_t(o.normalize.mean.size());
    auto stat = [&](const std::vector<double>& v) {
      return at::tensor(v, at::kDouble).to(x.device(), at::kFloat).view({1, c, 1, 1});
    };
    x = x.sub_(stat(o.normalize.mean)).div_(stat(o.normalize.std));
  }
  if (o.augmenting) x = augment_normalized(x, o.augment, at);
  return o.channels_last ? x.contiguous(at::MemoryFormat::ChannelsLast) : x;
}

bool BatchIterator::next(Batch& out) {
  if (!worker_.joinable()) return gather(out, global_size_);
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return full_; });
  if (error_) std::rethrow_exception(error_);
  if (ended_) return false;
  out = std::move(ready_);
  global_size_ = ready_global_size_;
  full_ = false;
  changed_.notify_all();
  return true;
}

int64_t BatchIterator::count() const {
  const int64_t global = options_.batch_size * options_.world, n = split_.size();
  const int64_t full = n / global, rest = n % global;
  return full + (rest >= options_.world ? 1 : 0);
}

bool BatchIterator::gather(Batch& out, int64_t& global_size) {
  const int64_t n = split_.size(), world = options_.world;
  const int64_t global = std::min(options_.batch_size * world, n - position_);
  if (global < world) return false;  // the end, or a remainder too small to share
  // Rank r's part: the global batch split as evenly as it goes, the first ranks one larger.
  const int64_t base = global / world, extra = global % world, r = options_.rank;
  const int64_t start = position_ + r * base + std::min(r, extra);
  const int64_t size = base + (r < extra ? 1 : 0);
  at::Tensor index =
      order_.defined() ? order_.narrow(0, start, size) : at::arange(start, start + size, at::kLong);
  const DrawPosition draws{options_.seed, epoch_, position_ / (options_.batch_size * world),
                           start - position_, global};
  position_ += global;
  global_size = global;
  // Move the compact uint8 bytes, not the floats: 4x less to copy to a GPU.
  at::Tensor images = split_.images_at(index).to(options_.device, /*non_blocking=*/true);
  out.images = prepare_images(images, options_, draws);
  out.labels = split_.labels.index_select(0, index).to(options_.device, /*non_blocking=*/true);
  return true;
}

BatchOptions batch_options(const config::DataSpec& data, c10::Device device,
                           const Normalization& normalize, bool training, uint64_t seed) {
  BatchOptions o;
  o.batch_size = data.batch_size;
  o.shuffle = training;
  o.seed = seed;
  o.resize = data.resize;
  o.device = device;
  o.prefetch = data.prefetch;
  o.normalize = normalize;
  o.augment = data.augment;
  o.augmenting = training;
  o.eval_resize = {data.val_resize, data.val_crop};
  return o;
}

}  // namespace dlx::data
