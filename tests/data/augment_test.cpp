// Augmentations of whole batches: each does what it says to every image, its draws follow
// (seed, epoch, step) alone, a rank's rows are the rows of the global batch, and evaluation
// batches come out at the augmented size.
#include <doctest/doctest.h>

#include <ATen/ops/arange.h>
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/full.h>
#include <ATen/ops/rand.h>
#include <ATen/ops/zeros.h>

#include <set>

#include "framework/data/augment.h"
#include "framework/data/auto_augment.h"
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

// One entry of a kind, its spec set by `set`.
template <class F>
AugmentSpec entry(AugmentKind kind, F set) {
  AugmentSpec a;
  a.kind = kind;
  a.with_args(set);
  return a;
}

// A picture of smooth noise on uint8 levels: every op changes it.
at::Tensor pictures(int64_t b, int64_t c, int64_t h, int64_t w) {
  at::manual_seed(3);
  return (at::rand({b, c, h, w}) * 255).round() / 255;
}

// Every new kind with settings that change images.
std::vector<AugmentSpec> every_new_kind() {
  return {entry(AugmentKind::kVerticalFlip, [](auto&) {}),
          entry(AugmentKind::kRandomRotation, [](auto&) {}),
          entry(AugmentKind::kColorJitter,
                [](auto& s) {
                  if constexpr (std::is_same_v<std::decay_t<decltype(s)>, config::ColorJitterSpec>)
                    s = {0.4, 0.4, 0.4, 0.1};
                }),
          entry(AugmentKind::kTrivialAugment, [](auto&) {}),
          entry(AugmentKind::kRandAugment, [](auto&) {}),
          entry(AugmentKind::kAutoAugment, [](auto&) {})};
}

AugmentSpec erasing(double p, bool random) {
  return entry(AugmentKind::kRandomErasing, [&](auto& s) {
    if constexpr (std::is_same_v<std::decay_t<decltype(s)>, config::RandomErasingSpec>) {
      s.p = p;
      s.value.random = random;
      s.value.value = 7;
    }
  });
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

TEST_CASE(
    "the new augmentations draw from (seed, epoch, step) only; a rank's rows are the batch's") {
  const at::Tensor x = pictures(12, 3, 10, 12);
  for (const auto& a : every_new_kind()) {
    CAPTURE(config::choice_name(a.kind));
    const at::Tensor y = data::augment(x, {a}, position(3, 12));
    CHECK(at::equal(y, data::augment(x, {a}, position(3, 12))));
    CHECK_FALSE(at::equal(y, data::augment(x, {a}, position(4, 12))));
    CHECK_FALSE(at::equal(y, x));
    const data::DrawPosition rank1{5, 2, 3, 5, 12};
    CHECK(at::allclose(data::augment(x.narrow(0, 5, 4), {a}, rank1), y.narrow(0, 5, 4)));
  }
  for (bool random : {false, true}) {
    const std::vector<AugmentSpec> list{crop(8, 0), erasing(1, random)};
    const at::Tensor y = data::augment_normalized(x, list, position(3, 12));
    CHECK(at::equal(data::augment(x, list, position(3, 12)),
                    data::augment(x, {crop(8, 0)}, position(3, 12))));
    CHECK_FALSE(at::equal(y, x));
    CHECK(at::equal(y, data::augment_normalized(x, list, position(3, 12))));
    const data::DrawPosition rank1{5, 2, 3, 5, 12};
    CHECK(at::equal(data::augment_normalized(x.narrow(0, 5, 4), list, rank1), y.narrow(0, 5, 4)));
  }
}

TEST_CASE("trivial_augment gives the images of one batch different ops") {
  const at::Tensor x = pictures(1, 3, 12, 12).expand({32, 3, 12, 12}).contiguous();
  const at::Tensor y =
      data::augment(x, {entry(AugmentKind::kTrivialAugment, [](auto&) {})}, position(0, 32));
  std::vector<at::Tensor> distinct;
  for (int64_t i = 0; i < 32; ++i) {
    bool seen = false;
    for (const auto& d : distinct) seen = seen || at::equal(d, y[i]);
    if (!seen) distinct.push_back(y[i]);
  }
  CHECK(distinct.size() > 10);
}

TEST_CASE("rand_augment applies num_ops drawn ops to each image, in order") {
  config::RandAugmentSpec spec;
  spec.num_ops = 3;
  const at::Tensor x = pictures(6, 3, 9, 11);
  data::DrawPosition at = position(2, 6);
  data::Draws draws(at, 0);
  const auto rounds = data::rand_augment_draws(spec, draws, 6, 9, 11);
  REQUIRE(rounds.size() == 3);
  const at::Tensor y = data::augment(
      x,
      {entry(AugmentKind::kRandAugment,
             [&](auto& s) {
               if constexpr (std::is_same_v<std::decay_t<decltype(s)>, config::RandAugmentSpec>)
                 s = spec;
             })},
      at);
  for (int64_t i = 0; i < 6; ++i) {
    at::Tensor one = x.narrow(0, i, 1);
    for (const auto& round : rounds) {
      REQUIRE(round.size() == 6);
      one = data::apply_op(one, round[size_t(i)].op, {round[size_t(i)].magnitude},
                           spec.interpolation, spec.fill);
    }
    CHECK(at::allclose(y.narrow(0, i, 1), one, 0, 1e-6));
  }
}

TEST_CASE("an augmentation with chance 0 or no amount leaves the images as they are") {
  const at::Tensor x = pictures(8, 3, 10, 10);
  auto vflip0 = entry(AugmentKind::kVerticalFlip, [](auto&) {});
  vflip0.vertical_flip.p = 0;
  auto jitter0 = entry(AugmentKind::kColorJitter, [](auto&) {});
  auto rotation0 = entry(AugmentKind::kRandomRotation, [](auto&) {});
  rotation0.rotation.degrees = {0, 0};
  rotation0.rotation.interpolation = config::Interpolation::kBilinear;
  CHECK(at::equal(data::augment(x, {vflip0, jitter0}, position(0, 8)), x));
  CHECK(at::allclose(data::augment(x, {rotation0}, position(0, 8)), x, 0, 1e-6));
  CHECK(at::equal(data::augment_normalized(x, {erasing(0, false)}, position(0, 8)), x));
  auto vflip1 = vflip0;
  vflip1.vertical_flip.p = 1;
  CHECK(at::equal(data::augment(x, {vflip1}, position(0, 8)), x.flip({2})));
}

TEST_CASE("random_erasing paints one box per image within its scale and ratio bounds") {
  const int64_t h = 60, w = 80;
  const at::Tensor x = at::zeros({64, 1, h, w});
  const at::Tensor y = data::augment_normalized(x, {erasing(1, false)}, position(1, 64));
  int64_t boxes = 0;
  for (int64_t i = 0; i < 64; ++i) {
    const at::Tensor painted = y[i][0] == 7;
    const int64_t area = painted.sum().item<int64_t>();
    if (area == 0) continue;
    ++boxes;
    const int64_t rows = painted.any(1).sum().item<int64_t>();
    const int64_t cols = painted.any(0).sum().item<int64_t>();
    CHECK(rows * cols == area);  // a rectangle
    const double share = double(area) / double(h * w), aspect = double(rows) / double(cols);
    CHECK(share >= 0.02 * 0.8);
    CHECK(share <= 0.33 * 1.2);
    CHECK(aspect >= 0.3 / 1.3);
    CHECK(aspect <= 3.3 * 1.3);
  }
  CHECK(boxes > 56);
}

TEST_CASE("evaluation batches take val_resize and val_crop instead of the augmented size") {
  const at::Tensor x = numbered(2, 3, 40, 60);
  const at::Tensor y = data::augment_eval(x, {crop(30, 0)}, {32, {28, 28}});
  CHECK(y.sizes().vec() == std::vector<int64_t>{2, 3, 28, 28});
  CHECK(data::augment_eval(x, {crop(30, 0)}, {32, {}}).sizes().vec() ==
        std::vector<int64_t>{2, 3, 32, 48});
  CHECK(data::augment_eval(x, {crop(30, 0)}).size(3) == 30);
}
