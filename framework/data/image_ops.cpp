#include "framework/data/image_ops.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/conv2d.h>
#include <ATen/ops/cumsum.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/floor.h>
#include <ATen/ops/fmod.h>
#include <ATen/ops/grid_sampler_2d.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/linspace.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/ones_like.h>
#include <ATen/ops/remainder.h>
#include <ATen/ops/round.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/upsample_bilinear2d.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros.h>

#include <cmath>

#include "framework/core/error.h"

namespace dlx::data {

namespace {

constexpr double kPi = 3.14159265358979323846;

double radians(double degrees) {
  return degrees * kPi / 180.0;
}

// One value per image as [B, 1, 1, 1] float on x's device: the parameter of each image's op.
at::Tensor per_image(const std::vector<double>& v, const at::Tensor& x) {
  return at::tensor(v, at::kDouble).to(x.device(), at::kFloat).view({-1, 1, 1, 1});
}

// torchvision's _blend: a * x + (1 - a) * other, clamped to [0, 1]; (1 - a) in double first.
at::Tensor blend(const at::Tensor& x, const at::Tensor& other, const std::vector<double>& ratio) {
  std::vector<double> rest(ratio.size());
  for (size_t i = 0; i < ratio.size(); ++i) rest[i] = 1.0 - ratio[i];
  return (per_image(ratio, x) * x + per_image(rest, x) * other).clamp(0, 1);
}

// rgb_to_grayscale: ITU-R 601-2 luma, [B, 1, H, W].
at::Tensor grey(const at::Tensor& x) {
  return (x.select(1, 0) * 0.2989 + x.select(1, 1) * 0.587 + x.select(1, 2) * 0.114).unsqueeze(1);
}

// torchvision's _gen_affine_grid for one image (output size = input size): pixel centres from
// the image's centre, mapped by the inverse matrix, then scaled to grid_sample's [-1, 1].
at::Tensor affine_grid(const std::array<double, 6>& m, int64_t h, int64_t w, c10::Device device) {
  const auto opts = at::TensorOptions().dtype(at::kFloat).device(device);
  std::vector<float> values(m.begin(), m.end());
  const at::Tensor theta = at::tensor(values, at::kFloat).to(device).view({1, 2, 3});
  at::Tensor base = at::empty({1, h, w, 3}, opts);
  base.select(3, 0).copy_(at::linspace(-w * 0.5 + 0.5, w * 0.5 + 0.5 - 1, w, opts));
  base.select(3, 1).copy_(at::linspace(-h * 0.5 + 0.5, h * 0.5 + 0.5 - 1, h, opts).unsqueeze(-1));
  base.select(3, 2).fill_(1);
  const at::Tensor scale = at::tensor(std::vector<float>{float(0.5 * w), float(0.5 * h)}, opts);
  return base.view({1, h * w, 3}).bmm(theta.transpose(1, 2) / scale).view({1, h, w, 2});
}

// The fill as [1, C, 1, 1] for an image of `channels`.
at::Tensor fill_image(const config::Fill& fill, const at::Tensor& x) {
  const int64_t c = x.size(1);
  if (fill.values.size() != 1 && int64_t(fill.values.size()) != c)
    throw RuntimeError("fill has " + std::to_string(fill.values.size()) + " values for images of " +
                       std::to_string(c) + " channels");
  std::vector<double> v = fill.values;
  v.resize(size_t(c), v[0]);
  return at::tensor(v, at::kDouble).to(x.device(), x.scalar_type()).view({1, c, 1, 1});
}

// One index per level of round(x * 255), as int64.
at::Tensor levels(const at::Tensor& x) {
  return at::round(x * 255.0).clamp(0, 255).to(at::kLong);
}

}  // namespace

std::array<double, 6> inverse_affine_matrix(std::array<double, 2> center, double angle,
                                            std::array<double, 2> translate, double scale,
                                            std::array<double, 2> shear) {
  // The forward map is T * C * R(angle) * S(scale) * ShearY * ShearX * C^-1; its inverse is built
  // directly. Rotation and shear have determinant 1, so the inverse of [[a, b], [c, d]] is
  // [[d, -b], [-c, a]].
  const double rot = radians(angle), sx = radians(shear[0]), sy = radians(shear[1]);
  const double a = std::cos(rot - sy) / std::cos(sy);
  const double b = -std::cos(rot - sy) * std::tan(sx) / std::cos(sy) - std::sin(rot);
  const double c = std::sin(rot - sy) / std::cos(sy);
  const double d = -std::sin(rot - sy) * std::tan(sx) / std::cos(sy) + std::cos(rot);
  std::array<double, 6> m{d, -b, 0.0, -c, a, 0.0};
  for (double& v : m) v /= scale;
  const double ox = -center[0] - translate[0], oy = -center[1] - translate[1];
  m[2] += m[0] * ox + m[1] * oy + center[0];
  m[5] += m[3] * ox + m[4] * oy + center[1];
  return m;
}

at::Tensor affine(const at::Tensor& x, const std::vector<std::array<double, 6>>& matrices,
                  config::Interpolation interpolation, const config::Fill& fill) {
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  if (b == 0) return x;
  std::vector<at::Tensor> grids;
  for (const auto& m : matrices) grids.push_back(affine_grid(m, h, w, x.device()));
  const at::Tensor grid = at::cat(grids, 0).to(x.scalar_type());
  const bool nearest = interpolation == config::Interpolation::kNearest;
  // A given fill is blended through a channel of ones sampled alongside (as torchvision does):
  // where it drops below one, the sample reached outside the image.
  const at::Tensor in = fill.none() ? x : at::cat({x, at::ones({b, 1, h, w}, x.options())}, 1);
  at::Tensor out = at::grid_sampler_2d(in, grid, nearest ? 1 : 0, /*zeros*/ 0,
                                       /*align_corners=*/false);
  if (fill.none()) return out;
  const at::Tensor mask = out.narrow(1, c, 1).expand({b, c, h, w});
  out = out.narrow(1, 0, c);
  const at::Tensor colour = fill_image(fill, x).expand({b, c, h, w});
  if (nearest) return at::where(mask < 0.5, colour, out);
  return out * mask + (1.0 - mask) * colour;
}

at::Tensor adjust_brightness(const at::Tensor& x, const std::vector<double>& factors) {
  return blend(x, at::zeros_like(x), factors);
}

at::Tensor adjust_contrast(const at::Tensor& x, const std::vector<double>& factors) {
  const at::Tensor source = x.size(1) == 3 ? grey(x) : x;
  return blend(x, source.mean({1, 2, 3}, /*keepdim=*/true), factors);
}

at::Tensor adjust_saturation(const at::Tensor& x, const std::vector<double>& factors) {
  if (x.size(1) == 1) return x;  // as PIL: a grey image has no saturation
  return blend(x, grey(x), factors);
}

at::Tensor adjust_sharpness(const at::Tensor& x, const std::vector<double>& factors) {
  const int64_t c = x.size(1), h = x.size(2), w = x.size(3);
  if (h <= 2 || w <= 2) return x;
  at::Tensor kernel = at::ones({3, 3}, x.options());
  kernel[1][1] = 5.0;
  kernel /= kernel.sum();
  // The smoothed image inside, the border pixels as they were.
  const std::vector<int64_t> one{1, 1}, none{0, 0};
  at::Tensor smooth = x.clone();
  smooth.narrow(2, 1, h - 2)
      .narrow(3, 1, w - 2)
      .copy_(at::conv2d(x, kernel.expand({c, 1, 3, 3}), at::Tensor(), one, none, one, c));
  return blend(x, smooth, factors);
}

namespace {

// rgb -> hsv as torchvision's _rgb2hsv (after Pillow): [B, 3, H, W] each in [0, 1].
at::Tensor rgb_to_hsv(const at::Tensor& x) {
  const at::Tensor r = x.select(1, 0), g = x.select(1, 1), b = x.select(1, 2);
  const at::Tensor maxc = std::get<0>(x.max(1)), minc = std::get<0>(x.min(1));
  const at::Tensor grey = maxc == minc, ones = at::ones_like(maxc);
  const at::Tensor range = maxc - minc;
  const at::Tensor s = range / at::where(grey, ones, maxc);
  const at::Tensor divisor = at::where(grey, ones, range);
  const at::Tensor rc = (maxc - r) / divisor, gc = (maxc - g) / divisor, bc = (maxc - b) / divisor;
  const at::Tensor hr = (maxc == r) * (bc - gc);
  const at::Tensor hg = ((maxc == g) & (maxc != r)) * (rc + 2.0 - bc);
  const at::Tensor hb = ((maxc != g) & (maxc != r)) * (gc + 4.0 - rc);
  const at::Tensor h = at::fmod((hr + hg + hb) / 6.0 + 1.0, 1.0);
  return at::stack({h, s, maxc}, 1);
}

at::Tensor hsv_to_rgb(const at::Tensor& h, const at::Tensor& s, const at::Tensor& v) {
  const at::Tensor i0 = at::floor(h * 6.0);
  const at::Tensor f = h * 6.0 - i0;
  const at::Tensor i = at::remainder(i0.to(at::kInt), 6);
  const at::Tensor p = (v * (1.0 - s)).clamp(0.0, 1.0);
  const at::Tensor q = (v * (1.0 - s * f)).clamp(0.0, 1.0);
  const at::Tensor t = (v * (1.0 - s * (1.0 - f))).clamp(0.0, 1.0);
  // The sextant of the hue picks each channel from (v, q, p, t).
  auto pick = [&](const std::array<at::Tensor, 6>& by) {
    at::Tensor out = by[5];
    for (int k = 4; k >= 0; --k) out = at::where(i == k, by[size_t(k)], out);
    return out;
  };
  return at::stack({pick({v, q, p, p, t, v}), pick({t, v, v, q, p, p}), pick({p, p, t, v, v, q})},
                   1);
}

}  // namespace

at::Tensor adjust_hue(const at::Tensor& x, const std::vector<double>& shifts) {
  if (x.size(1) == 1) return x;
  const at::Tensor hsv = rgb_to_hsv(x);
  const at::Tensor h = at::remainder(hsv.select(1, 0) + per_image(shifts, x).squeeze(1), 1.0);
  return hsv_to_rgb(h, hsv.select(1, 1), hsv.select(1, 2));
}

at::Tensor posterize(const at::Tensor& x, const std::vector<int64_t>& bits) {
  std::vector<double> step;
  for (int64_t b : bits) step.push_back(std::ldexp(1.0, int(8 - b)));
  const at::Tensor u = at::round(x * 255.0).clamp(0, 255);
  return (u - at::remainder(u, per_image(step, x))) / 255.0;
}

at::Tensor solarize(const at::Tensor& x, const std::vector<double>& thresholds) {
  return at::where(x >= per_image(thresholds, x), 1.0 - x, x);
}

at::Tensor autocontrast(const at::Tensor& x) {
  at::Tensor minimum = x.amin({2, 3}, /*keepdim=*/true);
  const at::Tensor maximum = x.amax({2, 3}, /*keepdim=*/true);
  at::Tensor scale = (maximum - minimum).reciprocal() * 1.0;
  const at::Tensor flat = at::isfinite(scale).logical_not();
  minimum = minimum.masked_fill(flat, 0);
  scale = scale.masked_fill(flat, 1);
  return ((x - minimum) * scale).clamp(0, 1);
}

at::Tensor equalize(const at::Tensor& x) {
  const int64_t b = x.size(0), c = x.size(1), n = x.size(2) * x.size(3);
  const at::Tensor u = levels(x).view({b * c, n});
  const at::Tensor hist = at::zeros({b * c, 256}, u.options()).scatter_add_(1, u, at::ones_like(u));
  // The step: the pixels of all levels but the highest present, in 255 parts.
  const at::Tensor top = std::get<0>(u.max(1, /*keepdim=*/true));
  const at::Tensor step = (n - hist.gather(1, top)).div(255, "floor");
  const at::Tensor safe = step.clamp_min(1);
  at::Tensor lut = (hist.cumsum(1) + step.div(2, "floor")).div(safe, "floor");
  lut = at::cat({at::zeros({b * c, 1}, lut.options()), lut.narrow(1, 0, 255)}, 1).clamp(0, 255);
  const at::Tensor mapped = at::where(step == 0, u, lut.gather(1, u));
  return (mapped.to(x.scalar_type()) / 255.0).view(x.sizes());
}

at::Tensor invert(const at::Tensor& x) {
  return 1.0 - x;
}

at::Tensor erase(const at::Tensor& x, const std::vector<EraseBox>& boxes, double value,
                 const std::vector<at::Tensor>& noise) {
  at::Tensor out = x.clone();
  for (size_t i = 0; i < boxes.size(); ++i) {
    const EraseBox& box = boxes[i];
    if (box.h == 0) continue;
    at::Tensor window = out[int64_t(i)].narrow(1, box.top, box.h).narrow(2, box.left, box.w);
    if (noise.empty())
      window.fill_(value);
    else
      window.copy_(noise[i]);
  }
  return out;
}

at::Tensor resize_shorter(const at::Tensor& x, int64_t side) {
  const int64_t h = x.size(2), w = x.size(3);
  const int64_t shorter = std::min(h, w), longer = std::max(h, w);
  const int64_t other = int64_t(double(side * longer) / double(shorter));
  const int64_t nh = w <= h ? other : side, nw = w <= h ? side : other;
  if (nh == h && nw == w) return x;
  return at::upsample_bilinear2d(x, {nh, nw}, /*align_corners=*/false);
}

at::Tensor center_crop(const at::Tensor& x, config::Size2 size) {
  at::Tensor y = x;
  int64_t h = x.size(2), w = x.size(3);
  if (size.w > w || size.h > h) {
    const int64_t dw = std::max<int64_t>(size.w - w, 0), dh = std::max<int64_t>(size.h - h, 0);
    y = at::constant_pad_nd(y, {dw / 2, (dw + 1) / 2, dh / 2, (dh + 1) / 2}, 0);
    h = y.size(2), w = y.size(3);
  }
  // Python's round(): halves to even.
  const int64_t top = int64_t(std::nearbyint((h - size.h) / 2.0));
  const int64_t left = int64_t(std::nearbyint((w - size.w) / 2.0));
  return y.narrow(2, top, size.h).narrow(3, left, size.w);
}

}  // namespace dlx::data
