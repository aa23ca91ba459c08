#include "framework/data/augment.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/upsample_bilinear2d.h>
#include <ATen/ops/where.h>

#include <ATen/ops/normal.h>

#include <cmath>

#include "framework/data/auto_augment.h"
#include "framework/data/image_ops.h"

namespace dlx::data {

namespace {

using config::AugmentKind;
using config::Size2;

at::Tensor random_crop(const at::Tensor& x, const config::RandomCropSpec& s, Draws& draws,
                       const DrawPosition& at) {
  const int64_t p = s.padding;
  at::Tensor padded = p ? at::constant_pad_nd(x, {p, p, p, p}, 0) : x;
  const int64_t hp = padded.size(2), wp = padded.size(3);
  const Size2 size = s.size.empty() ? Size2{x.size(2), x.size(3)} : s.size;
  std::vector<int64_t> top(at.global), left(at.global);
  for (int64_t i = 0; i < at.global; ++i) {
    top[i] = draws.below(hp - size.h + 1);
    left[i] = draws.below(wp - size.w + 1);
  }
  const int64_t b = x.size(0), c = x.size(1);
  auto opts = at::TensorOptions().dtype(at::kLong).device(x.device());
  at::Tensor rows =
      rows_tensor(top, at, x).view({b, 1, 1, 1}) + at::arange(size.h, opts).view({1, 1, size.h, 1});
  at::Tensor cols = rows_tensor(left, at, x).view({b, 1, 1, 1}) +
                    at::arange(size.w, opts).view({1, 1, 1, size.w});
  at::Tensor y = padded.gather(2, rows.expand({b, c, size.h, wp}));
  return y.gather(3, cols.expand({b, c, size.h, size.w}));
}

// Mirrors each image along `dim` (3: left to right, 2: top to bottom) with chance p.
at::Tensor random_flip(const at::Tensor& x, double p, int64_t dim, Draws& draws,
                       const DrawPosition& at) {
  std::vector<int64_t> flip(at.global);
  for (auto& f : flip) f = draws.uniform() < p;
  at::Tensor mask = rows_tensor(flip, at, x).to(at::kBool).view({x.size(0), 1, 1, 1});
  return at::where(mask, x.flip({dim}), x);
}

// torchvision's RandomRotation: an angle drawn uniformly per image, about the centre.
at::Tensor random_rotation(const at::Tensor& x, const config::RandomRotationSpec& s, Draws& draws,
                           const DrawPosition& at) {
  std::vector<std::array<double, 6>> matrices(size_t(at.global));
  for (auto& m : matrices)
    m = inverse_affine_matrix({0, 0}, -draws.uniform(s.degrees.lo, s.degrees.hi), {0, 0}, 1,
                              {0, 0});
  return affine(x, own_rows(matrices, at, x.size(0)), s.interpolation, s.fill);
}

// torchvision's RandomErasing: with chance p, ten tries at a box of a random area share and
// log-uniform aspect that fits strictly inside, else none; filled with the value or with noise.
at::Tensor random_erasing(const at::Tensor& x, const config::RandomErasingSpec& s, Draws& draws,
                          const DrawPosition& at) {
  const int64_t H = x.size(2), W = x.size(3);
  const double area = double(H * W), lo = std::log(s.ratio[0]), hi = std::log(s.ratio[1]);
  std::vector<EraseBox> boxes(size_t(at.global));
  std::vector<uint64_t> seeds(size_t(at.global));
  for (size_t i = 0; i < boxes.size(); ++i) {
    seeds[i] = draws.raw();
    if (!(draws.uniform() < s.p)) continue;
    for (int attempt = 0; attempt < 10; ++attempt) {
      const double target = area * draws.uniform(s.scale[0], s.scale[1]);
      const double aspect = std::exp(draws.uniform(lo, hi));
      // As torchvision: the height from area * aspect.
      const int64_t h = std::llround(std::sqrt(target * aspect));
      const int64_t w = std::llround(std::sqrt(target / aspect));
      if (!(h < H && w < W)) continue;
      const int64_t top = draws.below(H - h + 1);
      boxes[i] = {top, draws.below(W - w + 1), h, w};
      break;
    }
  }
  const std::vector<EraseBox> mine = own_rows(boxes, at, x.size(0));
  std::vector<at::Tensor> noise;
  if (s.value.random) {
    // Each image's noise from its own seed, so a rank draws what the global batch would.
    for (size_t i = 0; i < mine.size(); ++i) {
      at::Generator gen = at::detail::createCPUGenerator(seeds[size_t(at.first) + i]);
      noise.push_back(at::normal(0, 1, {x.size(1), mine[i].h, mine[i].w}, gen,
                                 at::TensorOptions().dtype(x.scalar_type()))
                          .to(x.device()));
    }
  }
  return erase(x, mine, s.value.value, noise);
}

// torchvision's RandomResizedCrop: ten tries at an area and a log-uniform aspect ratio that fit,
// else the centre crop of the nearest allowed ratio; each crop resized (bilinear) to `size`.
struct Box {
  double top, left, h, w;
};

Box resized_crop_box(const config::RandomResizedCropSpec& s, Draws& draws, int64_t H, int64_t W) {
  const double area = double(H * W);
  const double lo = std::log(s.ratio[0]), hi = std::log(s.ratio[1]);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * draws.uniform(s.scale[0], s.scale[1]);
    const double aspect = std::exp(draws.uniform(lo, hi));
    const int64_t w = std::llround(std::sqrt(target * aspect));
    const int64_t h = std::llround(std::sqrt(target / aspect));
    if (w > 0 && h > 0 && w <= W && h <= H)
      return {double(draws.below(H - h + 1)), double(draws.below(W - w + 1)), double(h), double(w)};
  }
  const double ratio = double(W) / double(H);
  double w = double(W), h = double(H);
  if (ratio < s.ratio[0]) h = std::round(w / s.ratio[0]);
  if (ratio > s.ratio[1]) w = std::round(h * s.ratio[1]);
  return {std::floor((double(H) - h) / 2), std::floor((double(W) - w) / 2), h, w};
}

// Each image's box cut out, then resized (bilinear, no antialias) as torchvision's
// F.resized_crop does on a tensor: the box's own edge pixels are repeated at its border, where a
// sampling grid over the whole image would blend in the pixels around the box.
at::Tensor random_resized_crop(const at::Tensor& x, const config::RandomResizedCropSpec& s,
                               Draws& draws, const DrawPosition& at) {
  const int64_t H = x.size(2), W = x.size(3), b = x.size(0);
  const Size2 size = s.size.empty() ? Size2{H, W} : s.size;
  std::vector<Box> boxes(size_t(at.global));
  for (auto& box : boxes) box = resized_crop_box(s, draws, H, W);
  const std::vector<Box> mine = own_rows(boxes, at, b);
  at::Tensor out = at::empty({b, x.size(1), size.h, size.w}, x.options());
  for (int64_t i = 0; i < b; ++i) {
    const Box& box = mine[size_t(i)];
    const at::Tensor crop = x.narrow(0, i, 1)
                                .narrow(2, int64_t(box.top), int64_t(box.h))
                                .narrow(3, int64_t(box.left), int64_t(box.w));
    out.narrow(0, i, 1).copy_(
        at::upsample_bilinear2d(crop, {size.h, size.w}, /*align_corners=*/false));
  }
  return out;
}

}  // namespace

at::Tensor augment(const at::Tensor& x, const std::vector<config::AugmentSpec>& list,
                   const DrawPosition& at) {
  at::Tensor y = x;
  for (size_t k = 0; k < list.size(); ++k) {
    Draws draws(at, k);
    const config::AugmentSpec& a = list[k];
    switch (a.kind) {
      case AugmentKind::kRandomCrop:
        y = random_crop(y, a.crop, draws, at);
        break;
      case AugmentKind::kHorizontalFlip:
        y = random_flip(y, a.flip.p, 3, draws, at);
        break;
      case AugmentKind::kRandomResizedCrop:
        y = random_resized_crop(y, a.resized_crop, draws, at);
        break;
      case AugmentKind::kVerticalFlip:
        y = random_flip(y, a.vertical_flip.p, 2, draws, at);
        break;
      case AugmentKind::kRandomRotation:
        y = random_rotation(y, a.rotation, draws, at);
        break;
      case AugmentKind::kColorJitter:
        y = color_jitter(y, a.jitter, draws, at);
        break;
      case AugmentKind::kTrivialAugment:
        y = trivial_augment(y, a.trivial, draws, at);
        break;
      case AugmentKind::kRandAugment:
        y = rand_augment(y, a.rand, draws, at);
        break;
      case AugmentKind::kAutoAugment:
        y = auto_augment(y, a.autoaugment, draws, at);
        break;
      case AugmentKind::kRandomErasing:
        break;  // after normalisation: augment_normalized
    }
  }
  return y;
}

at::Tensor augment_normalized(const at::Tensor& x, const std::vector<config::AugmentSpec>& list,
                              const DrawPosition& at) {
  at::Tensor y = x;
  for (size_t k = 0; k < list.size(); ++k) {
    if (list[k].kind != AugmentKind::kRandomErasing) continue;
    Draws draws(at, k);
    y = random_erasing(y, list[k].erasing, draws, at);
  }
  return y;
}

at::Tensor augment_eval(const at::Tensor& x, const std::vector<config::AugmentSpec>& list,
                        const EvalResize& resize) {
  if (!resize.off()) {
    at::Tensor y = resize.shorter ? resize_shorter(x, resize.shorter) : x;
    return resize.crop.empty() ? y : center_crop(y, resize.crop);
  }
  at::Tensor y = x;
  for (const auto& a : list) {
    const Size2 now{y.size(2), y.size(3)};
    const Size2 want = config::augmented_size(a, now);
    if (want == now) continue;
    if (a.kind == AugmentKind::kRandomResizedCrop) {
      y = at::upsample_bilinear2d(y, {want.h, want.w}, /*align_corners=*/false);
      continue;
    }
    // A centre crop (negative padding) or a centre pad with zeros, as random_crop's mean.
    const int64_t dh = want.h - now.h, dw = want.w - now.w;
    y = at::constant_pad_nd(y, {dw / 2, dw - dw / 2, dh / 2, dh - dh / 2}, 0);
  }
  return y;
}

}  // namespace dlx::data
