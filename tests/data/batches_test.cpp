#include <doctest/doctest.h>

#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/full.h>
#include <ATen/ops/sort.h>

#include "framework/data/batches.h"

using namespace dlx;

namespace {
data::Split numbered(int64_t n) {
  // Each image is filled with its own index, so a batch tells which examples it holds.
  at::Tensor images = at::arange(n, at::kLong)
                          .to(at::kByte)
                          .reshape({n, 1, 1, 1})
                          .expand({n, 1, 4, 4})
                          .contiguous();
  return data::Split{images, at::arange(n, at::kLong)};
}

std::vector<at::Tensor> epoch_labels(const data::Split& split, data::BatchOptions options,
                                     int64_t epoch) {
  data::BatchIterator it(split, options, epoch);
  std::vector<at::Tensor> out;
  data::Batch b;
  while (it.next(b)) out.push_back(b.labels);
  return out;
}
}  // namespace

TEST_CASE("an epoch visits every example once, in batches, the last one partial") {
  data::Split split = numbered(10);
  data::BatchOptions options;
  options.batch_size = 4;
  auto batches = epoch_labels(split, options, 1);
  REQUIRE(batches.size() == 3);
  CHECK(batches[2].size(0) == 2);
  at::Tensor all = std::get<0>(at::sort(at::cat(batches)));
  CHECK(at::equal(all, at::arange(10, at::kLong)));
}

TEST_CASE("the order depends on seed and epoch only") {
  data::Split split = numbered(50);
  data::BatchOptions options;
  options.batch_size = 50;
  options.seed = 3;
  at::Tensor a = epoch_labels(split, options, 1)[0];
  CHECK(at::equal(a, epoch_labels(split, options, 1)[0]));
  CHECK_FALSE(at::equal(a, epoch_labels(split, options, 2)[0]));
  options.seed = 4;
  CHECK_FALSE(at::equal(a, epoch_labels(split, options, 1)[0]));
  options.shuffle = false;
  CHECK(at::equal(epoch_labels(split, options, 1)[0], at::arange(50, at::kLong)));
}

TEST_CASE("images are scaled to [0, 1] like ToTensor and resized per batch") {
  data::Split split = numbered(3);
  split.images.fill_(255);
  data::BatchOptions options;
  options.resize = {9, 9};
  data::BatchIterator it(split, options, 1);
  data::Batch b;
  REQUIRE(it.next(b));
  CHECK(b.images.sizes().vec() == std::vector<int64_t>{3, 1, 9, 9});
  CHECK((b.images.scalar_type() == at::kFloat));
  CHECK(b.images.min().item<float>() == doctest::Approx(1.0));
  at::Tensor half =
      data::prepare_images(at::full({1, 1, 2, 2}, 51, at::kByte), data::BatchOptions{});
  CHECK(half.max().item<float>() == doctest::Approx(0.2));
}

TEST_CASE("prefetching gives the same batches in the same order, and may be abandoned") {
  data::Split split = numbered(37);
  data::BatchOptions options;
  options.batch_size = 5;
  options.seed = 7;
  options.resize = {6, 6};
  data::BatchOptions ahead = options;
  ahead.prefetch = true;
  for (int64_t skip : {0, 3}) {
    data::BatchIterator plain(split, options, 2, skip), prefetched(split, ahead, 2, skip);
    data::Batch a, b;
    int64_t count = 0;
    while (plain.next(a)) {
      REQUIRE(prefetched.next(b));
      CHECK(at::equal(a.labels, b.labels));
      CHECK(at::equal(a.images, b.images));
      ++count;
    }
    CHECK(count == 8 - skip);
    CHECK_FALSE(prefetched.next(b));
    CHECK_FALSE(prefetched.next(b));  // the end stays the end
  }
  // Destroyed after one batch, with the worker blocked on a full slot: must not hang.
  data::BatchIterator left(split, ahead, 1);
  data::Batch b;
  CHECK(left.next(b));
}

TEST_CASE("channels-last batches hold the same values in NHWC memory order") {
  data::Split split = numbered(6);
  data::BatchOptions options;
  options.batch_size = 6;
  options.shuffle = false;
  options.resize = {8, 8};
  data::BatchOptions nhwc = options;
  nhwc.channels_last = true;
  data::BatchIterator a(split, options, 1), b(split, nhwc, 1);
  data::Batch x, y;
  REQUIRE(a.next(x));
  REQUIRE(b.next(y));
  CHECK(y.images.is_contiguous(at::MemoryFormat::ChannelsLast));
  CHECK(at::equal(x.images, y.images));
}
