// The random draws of the batch augmentations: one generator per (seed, epoch, step,
// augmentation), drawn for the step's whole global batch, of which a rank keeps its own rows.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace dlx::data {

/// Where a batch sits in the run: which draws it gets.
struct DrawPosition {
  uint64_t seed = 0;
  int64_t epoch = 0, step = 0;
  int64_t first = 0;   // this rank's first row in the global batch
  int64_t global = 0;  // the global batch's size
};

/// A generator for one augmentation of one step. mt19937_64 is the same on every platform, and
/// the draws use its raw output only (no std distribution, whose results may differ).
class Draws {
 public:
  Draws(const DrawPosition& at, size_t which)
      : rng_(at.seed * 0x9E3779B97F4A7C15ull ^ uint64_t(at.epoch) * 1000003ull ^
             uint64_t(at.step) * 998244353ull ^ uint64_t(which) * 0x85EBCA6Bull) {}
  double uniform() { return double(rng_() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int64_t below(int64_t n) { return n <= 1 ? 0 : int64_t(rng_() % uint64_t(n)); }  // [0, n)
  uint64_t raw() { return rng_(); }
  /// A standard normal (Box-Muller).
  double normal() {
    const double u = 1.0 - uniform(), v = uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * M_PI * v);
  }
  /// Gamma(shape, 1) by Marsaglia and Tsang's method (shape < 1 through shape + 1).
  double gamma(double shape) {
    if (shape < 1) return gamma(shape + 1) * std::pow(1.0 - uniform(), 1.0 / shape);
    const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
    while (true) {
      double x = normal(), v = 1.0 + c * x;
      if (v <= 0) continue;
      v = v * v * v;
      const double u = 1.0 - uniform();
      if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
    }
  }
  /// Beta(a, b) from two gammas, as numpy and torch.distributions draw it (mixup's share).
  double beta(double a, double b) {
    const double x = gamma(a), y = gamma(b);
    return x / (x + y);
  }

 private:
  std::mt19937_64 rng_;
};

/// This rank's rows of a value drawn per image of the global batch, as a tensor on x's device.
inline at::Tensor rows_tensor(const std::vector<int64_t>& v, const DrawPosition& at,
                              const at::Tensor& x) {
  at::Tensor t = at::empty({at.global}, at::kLong);
  std::copy(v.begin(), v.end(), t.data_ptr<int64_t>());
  return t.narrow(0, at.first, x.size(0)).to(x.device());
}

/// This rank's rows of a value drawn per image of the global batch.
template <class T>
std::vector<T> own_rows(const std::vector<T>& v, const DrawPosition& at, int64_t rows) {
  return std::vector<T>(v.begin() + at.first, v.begin() + at.first + rows);
}

}  // namespace dlx::data
