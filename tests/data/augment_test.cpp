// Augmentations of whole batches: each does what it says to every image, its draws follow
// (seed, epoch, step) alone, a rank's rows are the rows of the global batch, and evaluation
// batches come out at the augmented size.
#include <doctest/doctest.h>

#include <ATen/ops/arange.h>
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros.h>

#include <set>

#include "framework/data/augment.h"
#include "framework/data/batches.h"

using namespace dlx;
using config::AugmentKind;
using config::AugmentSpec;

namespace {

// Every pixel of every image a different value, so that where a pixel came from shows.
at::Tensor numbered(int64_t b, int64_t c, int64_t h, int64_t w) {
  return at::arange(b * c * h * w, at::kFloat).view({b, c, h, w});
}

AugmentSpec crop(int64_t size, int64_t padding) {
  AugmentSpec a;
  a.kind = AugmentKind::kRandomCrop;
  a.crop.size = {size, size};
  a.crop.padding = padding;
  return a;
}

AugmentSpec flip(double p) {
  AugmentSpec a;
  a.kind = AugmentKind::kHorizontalFlip;
  a.flip.p = p;
  return a;
}

AugmentSpec resized_crop(int64_t size, std::vector<double> scale, std::vector<double> ratio) {
  AugmentSpec a;
  a.kind = AugmentKind::kRandomResizedCrop;
  a.resized_crop.size = {size, size};
  a.resized_crop.scale = std::move(scale);
  a.resized_crop.ratio = std::move(ratio);
  return a;
}

data::DrawPosition position(int64_t step, int64_t global) {
  return data::DrawPosition{5, 2, step, 0, global};
}

}  // namespace

TEST_CASE("random_crop takes a window of the padded image, at a place drawn per image") {
  const at::Tensor x = numbered(16, 2, 6, 6);
  const at::Tensor padded = at::constant_pad_nd(x, {2, 2, 2, 2}, 0);
  const at::Tensor y = data::augment(x, {crop(5, 2)}, position(0, 16));
  REQUIRE(y.sizes().vec() == std::vector<int64_t>{16, 2, 5, 5});
  std::set<std::pair<int64_t, int64_t>> places;
  for (int64_t i = 0; i < 16; ++i) {
    bool found = false;
    for (int64_t t = 0; t <= 5 && !found; ++t)
      for (int64_t l = 0; l <= 5 && !found; ++l)
        if (at::equal(y[i], padded[i].narrow(1, t, 5).narrow(2, l, 5))) {
          found = true;
          places.insert({t, l});
        }
    CHECK(found);
  }
  CHECK(places.size() > 4);  // the places differ between images
}

TEST_CASE("horizontal_flip mirrors each image with chance p") {
  const at::Tensor x = numbered(64, 1, 3, 4);
  CHECK(at::equal(data::augment(x, {flip(1)}, position(0, 64)), x.flip({3})));
  CHECK(at::equal(data::augment(x, {flip(0)}, position(0, 64)), x));
  const at::Tensor y = data::augment(x, {flip(0.5)}, position(0, 64));
  int64_t flipped = 0;
  for (int64_t i = 0; i < 64; ++i) {
    const bool same = at::equal(y[i], x[i]), mirrored = at::equal(y[i], x[i].flip({2}));
    CHECK(same != mirrored);
    flipped += mirrored;
  }
  CHECK(flipped > 16);
  CHECK(flipped < 48);
}

TEST_CASE("random_resized_crop of the whole image at ratio 1 is the image; smaller scales zoom") {
  const at::Tensor x = numbered(4, 3, 8, 8);
  const at::Tensor same = data::augment(x, {resized_crop(8, {1, 1}, {1, 1})}, position(0, 4));
  CHECK(at::allclose(same, x, 0, 1e-3));
  const at::Tensor zoomed =
      data::augment(x, {resized_crop(6, {0.1, 0.3}, {0.75, 1.33})}, position(0, 4));
  CHECK(zoomed.sizes().vec() == std::vector<int64_t>{4, 3, 6, 6});
  // A crop of at most 30% of the area spans fewer values than the whole image.
  for (int64_t i = 0; i < 4; ++i) {
    const float span = (zoomed[i][0].max() - zoomed[i][0].min()).item<float>();
    CHECK(span < (x[i][0].max() - x[i][0].min()).item<float>() * 0.8);
  }
}

TEST_CASE("draws depend on (seed, epoch, step) only, and a rank's rows are the global batch's") {
  const std::vector<AugmentSpec> list{crop(6, 3), flip(0.5), resized_crop(6, {0.3, 1}, {0.5, 2})};
  const at::Tensor x = numbered(10, 1, 6, 6);
  const at::Tensor a = data::augment(x, list, position(3, 10));
  CHECK(at::equal(a, data::augment(x, list, position(3, 10))));
  CHECK_FALSE(at::equal(a, data::augment(x, list, position(4, 10))));
  // Rank 1 of 2 holds rows 5..9 of the global batch of 10.
  const data::DrawPosition rank1{5, 2, 3, 5, 10};
  CHECK(at::allclose(data::augment(x.narrow(0, 5, 5), list, rank1), a.narrow(0, 5, 5)));
}

TEST_CASE("evaluation batches are brought to the augmented size: centre crop, pad or resize") {
  const at::Tensor x = numbered(2, 1, 8, 8);
  const at::Tensor cropped = data::augment_eval(x, {crop(6, 0)});
  CHECK(at::equal(cropped, x.narrow(2, 1, 6).narrow(3, 1, 6)));
  const at::Tensor padded = data::augment_eval(x, {crop(10, 2)});
  CHECK(at::equal(padded.narrow(2, 1, 8).narrow(3, 1, 8), x));
  CHECK(padded[0][0][0][0].item<float>() == 0);
  CHECK(data::augment_eval(x, {resized_crop(4, {0.5, 1}, {1, 1})}).size(3) == 4);
  CHECK(at::equal(data::augment_eval(x, {flip(1)}), x));  // no flip at evaluation
}

TEST_CASE("batches are normalised per channel after scaling; only training batches augmented") {
  data::Split split(at::full({4, 2, 4, 4}, 51, at::kByte), at::zeros({4}, at::kLong));
  split.images.select(1, 1).fill_(102);
  split.images.select(3, 0).fill_(0);  // the left column black: a mirror image shows
  data::BatchOptions options;
  options.shuffle = false;
  options.normalize = {{0.1, 0.2}, {0.5, 0.25}};
  options.augment = {flip(1)};
  data::Batch plain, mirrored;
  REQUIRE(data::BatchIterator(split, options, 1).next(plain));
  options.augmenting = true;
  REQUIRE(data::BatchIterator(split, options, 1).next(mirrored));
  const at::Tensor inside = plain.images.narrow(3, 1, 3);
  CHECK(at::allclose(inside.select(1, 0), at::full({4, 4, 3}, (0.2 - 0.1) / 0.5)));
  CHECK(at::allclose(inside.select(1, 1), at::full({4, 4, 3}, (0.4 - 0.2) / 0.25)));
  CHECK(at::allclose(plain.images.select(3, 0).select(1, 0), at::full({4, 4}, -0.1 / 0.5)));
  CHECK(at::equal(mirrored.images, plain.images.flip({3})));
}
