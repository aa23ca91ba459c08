#include "framework/data/augment.h"

#include <ATen/ops/affine_grid_generator.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/grid_sampler_2d.h>
#include <ATen/ops/upsample_bilinear2d.h>
#include <ATen/ops/where.h>

#include <cmath>
#include <random>

namespace dlx::data {

namespace {

using config::AugmentKind;
using config::Size2;

// A generator for one augmentation of one step. mt19937_64 is the same on every platform, and
// the draws below use its raw output only (no std distribution, whose results may differ).
class Draws {
 public:
  Draws(const DrawPosition& at, size_t which)
      : rng_(at.seed * 0x9E3779B97F4A7C15ull ^ uint64_t(at.epoch) * 1000003ull ^
             uint64_t(at.step) * 998244353ull ^ uint64_t(which) * 0x85EBCA6Bull) {}
  double uniform() { return double(rng_() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int64_t below(int64_t n) { return n <= 1 ? 0 : int64_t(rng_() % uint64_t(n)); }  // [0, n)

 private:
  std::mt19937_64 rng_;
};

at::Tensor rows_tensor(const std::vector<int64_t>& v, const DrawPosition& at, const at::Tensor& x) {
  at::Tensor t = at::empty({at.global}, at::kLong);
  std::copy(v.begin(), v.end(), t.data_ptr<int64_t>());
  return t.narrow(0, at.first, x.size(0)).to(x.device());
}

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

at::Tensor horizontal_flip(const at::Tensor& x, const config::HorizontalFlipSpec& s, Draws& draws,
                           const DrawPosition& at) {
  std::vector<int64_t> flip(at.global);
  for (auto& f : flip) f = draws.uniform() < s.p;
  at::Tensor mask = rows_tensor(flip, at, x).to(at::kBool).view({x.size(0), 1, 1, 1});
  return at::where(mask, x.flip({3}), x);
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

at::Tensor random_resized_crop(const at::Tensor& x, const config::RandomResizedCropSpec& s,
                               Draws& draws, const DrawPosition& at) {
  const int64_t H = x.size(2), W = x.size(3), b = x.size(0);
  const Size2 size = s.size.empty() ? Size2{H, W} : s.size;
  at::Tensor theta = at::empty({at.global, 2, 3}, at::kFloat);
  auto t = theta.accessor<float, 3>();
  for (int64_t i = 0; i < at.global; ++i) {
    const Box box = resized_crop_box(s, draws, H, W);
    // The box in the normalised coordinates of grid_sample (align_corners false).
    t[i][0][0] = float(box.w / double(W)), t[i][0][1] = 0;
    t[i][0][2] = float((2 * box.left + box.w) / double(W) - 1);
    t[i][1][0] = 0, t[i][1][1] = float(box.h / double(H));
    t[i][1][2] = float((2 * box.top + box.h) / double(H) - 1);
  }
  theta = theta.narrow(0, at.first, b).to(x.device(), x.scalar_type());
  at::Tensor grid =
      at::affine_grid_generator(theta, {b, x.size(1), size.h, size.w}, /*align_corners=*/false);
  return at::grid_sampler_2d(x, grid, /*bilinear*/ 0, /*zeros*/ 0, /*align_corners=*/false);
}

}  // namespace

at::Tensor augment(const at::Tensor& x, const std::vector<config::AugmentSpec>& list,
                   const DrawPosition& at) {
  at::Tensor y = x;
  for (size_t k = 0; k < list.size(); ++k) {
    Draws draws(at, k);
    switch (list[k].kind) {
      case AugmentKind::kRandomCrop:
        y = random_crop(y, list[k].crop, draws, at);
        break;
      case AugmentKind::kHorizontalFlip:
        y = horizontal_flip(y, list[k].flip, draws, at);
        break;
      case AugmentKind::kRandomResizedCrop:
        y = random_resized_crop(y, list[k].resized_crop, draws, at);
        break;
    }
  }
  return y;
}

at::Tensor augment_eval(const at::Tensor& x, const std::vector<config::AugmentSpec>& list) {
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
