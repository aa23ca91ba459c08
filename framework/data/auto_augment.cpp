#include "framework/data/auto_augment.h"

#include <ATen/ops/arange.h>
#include <ATen/ops/linspace.h>
#include <ATen/ops/tensor.h>

#include <cmath>

#include "framework/data/image_ops.h"

namespace dlx::data {

namespace {

using config::Fill;
using config::Interpolation;

constexpr double kPi = 3.14159265358979323846;
// As Python's math.degrees: one multiplication by a constant.
double degrees(double radians) {
  return radians * (180.0 / kPi);
}

// One op of an augmentation space: its magnitudes by bin (empty: magnitude 0) and whether a
// drawn sign may negate them. The magnitudes are torchvision's float32 tensors' values.
struct OpSpace {
  AutoOp op;
  std::vector<double> bins;
  bool signed_ = false;
};

std::vector<double> floats(const at::Tensor& t) {
  const at::Tensor f = t.to(at::kDouble).contiguous();
  return std::vector<double>(f.data_ptr<double>(), f.data_ptr<double>() + f.numel());
}

std::vector<double> linspace(double from, double to, int64_t bins) {
  return floats(at::linspace(from, to, bins, at::kFloat));
}

// 8 - round(bin / ((bins - 1) / parts)): from 8 bits down to 8 - parts.
std::vector<double> posterize_bits(int64_t bins, double parts) {
  return floats(8 -
                (at::arange(bins, at::kLong) / (double(bins - 1) / parts)).round().to(at::kInt));
}

// TrivialAugmentWide's space.
std::vector<OpSpace> wide_space(int64_t n) {
  return {{AutoOp::kIdentity, {}, false},
          {AutoOp::kShearX, linspace(0, 0.99, n), true},
          {AutoOp::kShearY, linspace(0, 0.99, n), true},
          {AutoOp::kTranslateX, linspace(0, 32, n), true},
          {AutoOp::kTranslateY, linspace(0, 32, n), true},
          {AutoOp::kRotate, linspace(0, 135, n), true},
          {AutoOp::kBrightness, linspace(0, 0.99, n), true},
          {AutoOp::kColor, linspace(0, 0.99, n), true},
          {AutoOp::kContrast, linspace(0, 0.99, n), true},
          {AutoOp::kSharpness, linspace(0, 0.99, n), true},
          {AutoOp::kPosterize, posterize_bits(n, 6), false},
          {AutoOp::kSolarize, linspace(255, 0, n), false},
          {AutoOp::kAutoContrast, {}, false},
          {AutoOp::kEqualize, {}, false}};
}

// RandAugment's space (AutoAugment's too, without Identity and with Invert).
std::vector<OpSpace> rand_space(int64_t n, int64_t h, int64_t w, bool for_auto) {
  std::vector<OpSpace> space{{AutoOp::kShearX, linspace(0, 0.3, n), true},
                             {AutoOp::kShearY, linspace(0, 0.3, n), true},
                             {AutoOp::kTranslateX, linspace(0, 150.0 / 331.0 * double(w), n), true},
                             {AutoOp::kTranslateY, linspace(0, 150.0 / 331.0 * double(h), n), true},
                             {AutoOp::kRotate, linspace(0, 30, n), true},
                             {AutoOp::kBrightness, linspace(0, 0.9, n), true},
                             {AutoOp::kColor, linspace(0, 0.9, n), true},
                             {AutoOp::kContrast, linspace(0, 0.9, n), true},
                             {AutoOp::kSharpness, linspace(0, 0.9, n), true},
                             {AutoOp::kPosterize, posterize_bits(n, 4), false},
                             {AutoOp::kSolarize, linspace(255, 0, n), false},
                             {AutoOp::kAutoContrast, {}, false},
                             {AutoOp::kEqualize, {}, false}};
  if (for_auto)
    space.push_back({AutoOp::kInvert, {}, false});
  else
    space.insert(space.begin(), {AutoOp::kIdentity, {}, false});
  return space;
}

using Drawn = DrawnOp;

Drawn drawn(const OpSpace& s, int64_t bin, bool negate) {
  double m = s.bins.empty() ? 0.0 : s.bins[size_t(bin)];
  if (s.signed_ && negate) m = -m;
  return {s.op, m};
}

// Applies each image's drawn op (this rank's rows of the global batch's draws), one group of
// images per op.
at::Tensor apply_drawn(const at::Tensor& x, const std::vector<Drawn>& global,
                       const DrawPosition& at, Interpolation interpolation, const Fill& fill) {
  const std::vector<Drawn> mine = own_rows(global, at, x.size(0));
  at::Tensor out = x;
  for (AutoOp op : all_ops()) {
    if (op == AutoOp::kIdentity) continue;
    std::vector<int64_t> rows;
    std::vector<double> magnitudes;
    for (size_t i = 0; i < mine.size(); ++i)
      if (mine[i].op == op) rows.push_back(int64_t(i)), magnitudes.push_back(mine[i].magnitude);
    if (rows.empty()) continue;
    if (out.is_same(x)) out = x.clone();
    const at::Tensor index = at::tensor(rows, at::kLong).to(x.device());
    out.index_copy_(0, index,
                    apply_op(x.index_select(0, index), op, magnitudes, interpolation, fill));
  }
  return out;
}

std::array<double, 6> matrix_of(AutoOp op, double m, int64_t h, int64_t w) {
  // Shears turn about the top-left corner (torchvision passes center=[0, 0]), with the angle whose
  // tangent is the magnitude; translations and rotations about the centre.
  const std::array<double, 2> corner{-double(w) * 0.5, -double(h) * 0.5}, centre{0, 0};
  switch (op) {
    case AutoOp::kShearX:
      return inverse_affine_matrix(corner, 0, {0, 0}, 1, {degrees(std::atan(m)), 0});
    case AutoOp::kShearY:
      return inverse_affine_matrix(corner, 0, {0, 0}, 1, {0, degrees(std::atan(m))});
    case AutoOp::kTranslateX:
      return inverse_affine_matrix(centre, 0, {std::trunc(m), 0}, 1, {0, 0});
    case AutoOp::kTranslateY:
      return inverse_affine_matrix(centre, 0, {0, std::trunc(m)}, 1, {0, 0});
    default:  // kRotate: F.rotate turns counter-clockwise, the inverse matrix by -angle
      return inverse_affine_matrix(centre, -m, {0, 0}, 1, {0, 0});
  }
}

std::vector<double> plus_one(const std::vector<double>& m) {
  std::vector<double> out;
  for (double v : m) out.push_back(1.0 + v);
  return out;
}

}  // namespace

const char* op_name(AutoOp op) {
  static const char* const names[] = {"Identity",     "ShearX",    "ShearY",     "TranslateX",
                                      "TranslateY",   "Rotate",    "Brightness", "Color",
                                      "Contrast",     "Sharpness", "Posterize",  "Solarize",
                                      "AutoContrast", "Equalize",  "Invert"};
  return names[int(op)];
}

const std::vector<AutoOp>& all_ops() {
  static const std::vector<AutoOp> ops{
      AutoOp::kIdentity,     AutoOp::kShearX,    AutoOp::kShearY,     AutoOp::kTranslateX,
      AutoOp::kTranslateY,   AutoOp::kRotate,    AutoOp::kBrightness, AutoOp::kColor,
      AutoOp::kContrast,     AutoOp::kSharpness, AutoOp::kPosterize,  AutoOp::kSolarize,
      AutoOp::kAutoContrast, AutoOp::kEqualize,  AutoOp::kInvert};
  return ops;
}

at::Tensor apply_op(const at::Tensor& x, AutoOp op, const std::vector<double>& magnitudes,
                    Interpolation interpolation, const Fill& fill) {
  switch (op) {
    case AutoOp::kIdentity:
      return x;
    case AutoOp::kShearX:
    case AutoOp::kShearY:
    case AutoOp::kTranslateX:
    case AutoOp::kTranslateY:
    case AutoOp::kRotate: {
      std::vector<std::array<double, 6>> matrices;
      for (double m : magnitudes) matrices.push_back(matrix_of(op, m, x.size(2), x.size(3)));
      return affine(x, matrices, interpolation, fill);
    }
    case AutoOp::kBrightness:
      return adjust_brightness(x, plus_one(magnitudes));
    case AutoOp::kColor:
      return adjust_saturation(x, plus_one(magnitudes));
    case AutoOp::kContrast:
      return adjust_contrast(x, plus_one(magnitudes));
    case AutoOp::kSharpness:
      return adjust_sharpness(x, plus_one(magnitudes));
    case AutoOp::kPosterize: {
      std::vector<int64_t> bits;
      for (double m : magnitudes) bits.push_back(int64_t(m));
      return posterize(x, bits);
    }
    case AutoOp::kSolarize: {
      std::vector<double> thresholds;
      for (double m : magnitudes) thresholds.push_back(m / 255.0);
      return solarize(x, thresholds);
    }
    case AutoOp::kAutoContrast:
      return autocontrast(x);
    case AutoOp::kEqualize:
      return equalize(x);
    case AutoOp::kInvert:
      break;
  }
  return invert(x);
}

at::Tensor trivial_augment(const at::Tensor& x, const config::TrivialAugmentSpec& s, Draws& draws,
                           const DrawPosition& at) {
  const std::vector<OpSpace> space = wide_space(s.num_magnitude_bins);
  std::vector<Drawn> global(size_t(at.global));
  for (auto& d : global) {
    const OpSpace& op = space[size_t(draws.below(int64_t(space.size())))];
    const int64_t bin = draws.below(s.num_magnitude_bins);
    d = drawn(op, bin, draws.uniform() < 0.5);
  }
  return apply_drawn(x, global, at, s.interpolation, s.fill);
}

std::vector<std::vector<DrawnOp>> rand_augment_draws(const config::RandAugmentSpec& s, Draws& draws,
                                                     int64_t global, int64_t h, int64_t w) {
  const std::vector<OpSpace> space = rand_space(s.num_magnitude_bins, h, w, /*for_auto=*/false);
  // Image by image, each image's ops in order.
  std::vector<std::vector<Drawn>> rounds(size_t(s.num_ops), std::vector<Drawn>(size_t(global)));
  for (int64_t i = 0; i < global; ++i)
    for (auto& round : rounds) {
      const OpSpace& op = space[size_t(draws.below(int64_t(space.size())))];
      round[size_t(i)] = drawn(op, s.magnitude, draws.uniform() < 0.5);
    }
  return rounds;
}

at::Tensor rand_augment(const at::Tensor& x, const config::RandAugmentSpec& s, Draws& draws,
                        const DrawPosition& at) {
  at::Tensor y = x;
  for (const auto& round : rand_augment_draws(s, draws, at.global, x.size(2), x.size(3)))
    y = apply_drawn(y, round, at, s.interpolation, s.fill);
  return y;
}

namespace {

struct PolicyOp {
  AutoOp op;
  double p;
  int bin;  // -1: no magnitude
};
using Policy = std::array<PolicyOp, 2>;

const std::vector<Policy>& policies(config::AutoAugmentPolicy which) {
  using O = AutoOp;
  static const std::vector<Policy> imagenet{{{{O::kPosterize, 0.4, 8}, {O::kRotate, 0.6, 9}}},
                                            {{{O::kSolarize, 0.6, 5}, {O::kAutoContrast, 0.6, -1}}},
                                            {{{O::kEqualize, 0.8, -1}, {O::kEqualize, 0.6, -1}}},
                                            {{{O::kPosterize, 0.6, 7}, {O::kPosterize, 0.6, 6}}},
                                            {{{O::kEqualize, 0.4, -1}, {O::kSolarize, 0.2, 4}}},
                                            {{{O::kEqualize, 0.4, -1}, {O::kRotate, 0.8, 8}}},
                                            {{{O::kSolarize, 0.6, 3}, {O::kEqualize, 0.6, -1}}},
                                            {{{O::kPosterize, 0.8, 5}, {O::kEqualize, 1.0, -1}}},
                                            {{{O::kRotate, 0.2, 3}, {O::kSolarize, 0.6, 8}}},
                                            {{{O::kEqualize, 0.6, -1}, {O::kPosterize, 0.4, 6}}},
                                            {{{O::kRotate, 0.8, 8}, {O::kColor, 0.4, 0}}},
                                            {{{O::kRotate, 0.4, 9}, {O::kEqualize, 0.6, -1}}},
                                            {{{O::kEqualize, 0.0, -1}, {O::kEqualize, 0.8, -1}}},
                                            {{{O::kInvert, 0.6, -1}, {O::kEqualize, 1.0, -1}}},
                                            {{{O::kColor, 0.6, 4}, {O::kContrast, 1.0, 8}}},
                                            {{{O::kRotate, 0.8, 8}, {O::kColor, 1.0, 2}}},
                                            {{{O::kColor, 0.8, 8}, {O::kSolarize, 0.8, 7}}},
                                            {{{O::kSharpness, 0.4, 7}, {O::kInvert, 0.6, -1}}},
                                            {{{O::kShearX, 0.6, 5}, {O::kEqualize, 1.0, -1}}},
                                            {{{O::kColor, 0.4, 0}, {O::kEqualize, 0.6, -1}}},
                                            {{{O::kEqualize, 0.4, -1}, {O::kSolarize, 0.2, 4}}},
                                            {{{O::kSolarize, 0.6, 5}, {O::kAutoContrast, 0.6, -1}}},
                                            {{{O::kInvert, 0.6, -1}, {O::kEqualize, 1.0, -1}}},
                                            {{{O::kColor, 0.6, 4}, {O::kContrast, 1.0, 8}}},
                                            {{{O::kEqualize, 0.8, -1}, {O::kEqualize, 0.6, -1}}}};
  static const std::vector<Policy> cifar10{
      {{{O::kInvert, 0.1, -1}, {O::kContrast, 0.2, 6}}},
      {{{O::kRotate, 0.7, 2}, {O::kTranslateX, 0.3, 9}}},
      {{{O::kSharpness, 0.8, 1}, {O::kSharpness, 0.9, 3}}},
      {{{O::kShearY, 0.5, 8}, {O::kTranslateY, 0.7, 9}}},
      {{{O::kAutoContrast, 0.5, -1}, {O::kEqualize, 0.9, -1}}},
      {{{O::kShearY, 0.2, 7}, {O::kPosterize, 0.3, 7}}},
      {{{O::kColor, 0.4, 3}, {O::kBrightness, 0.6, 7}}},
      {{{O::kSharpness, 0.3, 9}, {O::kBrightness, 0.7, 9}}},
      {{{O::kEqualize, 0.6, -1}, {O::kEqualize, 0.5, -1}}},
      {{{O::kContrast, 0.6, 7}, {O::kSharpness, 0.6, 5}}},
      {{{O::kColor, 0.7, 7}, {O::kTranslateX, 0.5, 8}}},
      {{{O::kEqualize, 0.3, -1}, {O::kAutoContrast, 0.4, -1}}},
      {{{O::kTranslateY, 0.4, 3}, {O::kSharpness, 0.2, 6}}},
      {{{O::kBrightness, 0.9, 6}, {O::kColor, 0.2, 8}}},
      {{{O::kSolarize, 0.5, 2}, {O::kInvert, 0.0, -1}}},
      {{{O::kEqualize, 0.2, -1}, {O::kAutoContrast, 0.6, -1}}},
      {{{O::kEqualize, 0.2, -1}, {O::kEqualize, 0.6, -1}}},
      {{{O::kColor, 0.9, 9}, {O::kEqualize, 0.6, -1}}},
      {{{O::kAutoContrast, 0.8, -1}, {O::kSolarize, 0.2, 8}}},
      {{{O::kBrightness, 0.1, 3}, {O::kColor, 0.7, 0}}},
      {{{O::kSolarize, 0.4, 5}, {O::kAutoContrast, 0.9, -1}}},
      {{{O::kTranslateY, 0.9, 9}, {O::kTranslateY, 0.7, 9}}},
      {{{O::kAutoContrast, 0.9, -1}, {O::kSolarize, 0.8, 3}}},
      {{{O::kEqualize, 0.8, -1}, {O::kInvert, 0.1, -1}}},
      {{{O::kTranslateY, 0.7, 9}, {O::kAutoContrast, 0.9, -1}}}};
  static const std::vector<Policy> svhn{{{{O::kShearX, 0.9, 4}, {O::kInvert, 0.2, -1}}},
                                        {{{O::kShearY, 0.9, 8}, {O::kInvert, 0.7, -1}}},
                                        {{{O::kEqualize, 0.6, -1}, {O::kSolarize, 0.6, 6}}},
                                        {{{O::kInvert, 0.9, -1}, {O::kEqualize, 0.6, -1}}},
                                        {{{O::kEqualize, 0.6, -1}, {O::kRotate, 0.9, 3}}},
                                        {{{O::kShearX, 0.9, 4}, {O::kAutoContrast, 0.8, -1}}},
                                        {{{O::kShearY, 0.9, 8}, {O::kInvert, 0.4, -1}}},
                                        {{{O::kShearY, 0.9, 5}, {O::kSolarize, 0.2, 6}}},
                                        {{{O::kInvert, 0.9, -1}, {O::kAutoContrast, 0.8, -1}}},
                                        {{{O::kEqualize, 0.6, -1}, {O::kRotate, 0.9, 3}}},
                                        {{{O::kShearX, 0.9, 4}, {O::kSolarize, 0.3, 3}}},
                                        {{{O::kShearY, 0.8, 8}, {O::kInvert, 0.7, -1}}},
                                        {{{O::kEqualize, 0.9, -1}, {O::kTranslateY, 0.6, 6}}},
                                        {{{O::kInvert, 0.9, -1}, {O::kEqualize, 0.6, -1}}},
                                        {{{O::kContrast, 0.3, 3}, {O::kRotate, 0.8, 4}}},
                                        {{{O::kInvert, 0.8, -1}, {O::kTranslateY, 0.0, 2}}},
                                        {{{O::kShearY, 0.7, 6}, {O::kSolarize, 0.4, 8}}},
                                        {{{O::kInvert, 0.6, -1}, {O::kRotate, 0.8, 4}}},
                                        {{{O::kShearY, 0.3, 7}, {O::kTranslateX, 0.9, 3}}},
                                        {{{O::kShearX, 0.1, 6}, {O::kInvert, 0.6, -1}}},
                                        {{{O::kSolarize, 0.7, 2}, {O::kTranslateY, 0.6, 7}}},
                                        {{{O::kShearY, 0.8, 4}, {O::kInvert, 0.8, -1}}},
                                        {{{O::kShearX, 0.7, 9}, {O::kTranslateY, 0.8, 3}}},
                                        {{{O::kShearY, 0.8, 5}, {O::kAutoContrast, 0.7, -1}}},
                                        {{{O::kShearX, 0.7, 2}, {O::kInvert, 0.1, -1}}}};
  switch (which) {
    case config::AutoAugmentPolicy::kImagenet:
      return imagenet;
    case config::AutoAugmentPolicy::kCifar10:
      return cifar10;
    case config::AutoAugmentPolicy::kSvhn:
      break;
  }
  return svhn;
}

}  // namespace

at::Tensor auto_augment(const at::Tensor& x, const config::AutoAugmentSpec& s, Draws& draws,
                        const DrawPosition& at) {
  const std::vector<OpSpace> space = rand_space(10, x.size(2), x.size(3), /*for_auto=*/true);
  const std::vector<Policy>& table = policies(s.policy);
  std::array<std::vector<Drawn>, 2> stages{std::vector<Drawn>(size_t(at.global)),
                                           std::vector<Drawn>(size_t(at.global))};
  for (int64_t i = 0; i < at.global; ++i) {
    const Policy& policy = table[size_t(draws.below(int64_t(table.size())))];
    for (size_t k = 0; k < 2; ++k) {
      const double chance = draws.uniform();
      const bool negate = draws.uniform() < 0.5;
      if (chance > policy[k].p) continue;  // stays Identity (torchvision: applied when <= p)
      for (const auto& op : space)
        if (op.op == policy[k].op)
          stages[k][size_t(i)] =
              drawn(op, op.bins.empty() ? 0 : policy[k].bin, negate && policy[k].bin >= 0);
    }
  }
  at::Tensor y = apply_drawn(x, stages[0], at, s.interpolation, s.fill);
  return apply_drawn(y, stages[1], at, s.interpolation, s.fill);
}

at::Tensor color_jitter(const at::Tensor& x, const config::ColorJitterSpec& s, Draws& draws,
                        const DrawPosition& at) {
  // Per image: an order of the four adjustments, then each one's factor (as get_params).
  const int64_t n = at.global;
  std::vector<std::array<int, 4>> order(static_cast<size_t>(n));
  std::vector<std::array<double, 4>> factor(static_cast<size_t>(n));
  const std::array<double, 4> amount{s.brightness, s.contrast, s.saturation, s.hue};
  for (int64_t i = 0; i < n; ++i) {
    auto& o = order[size_t(i)];
    o = {0, 1, 2, 3};
    for (int k = 3; k > 0; --k) std::swap(o[size_t(k)], o[size_t(draws.below(k + 1))]);
    for (size_t f = 0; f < 3; ++f)
      factor[size_t(i)][f] = draws.uniform(std::max(0.0, 1 - amount[f]), 1 + amount[f]);
    factor[size_t(i)][3] = draws.uniform(-s.hue, s.hue);
  }
  const int64_t first = at.first, rows = x.size(0);
  at::Tensor y = x;
  for (size_t position = 0; position < 4; ++position)
    for (int f = 0; f < 4; ++f) {
      if (amount[size_t(f)] == 0) continue;
      std::vector<int64_t> group;
      std::vector<double> values;
      for (int64_t i = 0; i < rows; ++i)
        if (order[size_t(first + i)][position] == f)
          group.push_back(i), values.push_back(factor[size_t(first + i)][size_t(f)]);
      if (group.empty()) continue;
      const at::Tensor index = at::tensor(group, at::kLong).to(x.device());
      const at::Tensor part = y.index_select(0, index);
      const at::Tensor done = f == 0   ? adjust_brightness(part, values)
                              : f == 1 ? adjust_contrast(part, values)
                              : f == 2 ? adjust_saturation(part, values)
                                       : adjust_hue(part, values);
      y = y.index_copy(0, index, done);
    }
  return y;
}

}  // namespace dlx::data
