// A window size, stride or padding given as `3` or `[3, 5]`, and a padding that may also be
// `same` or `valid`, with their YAML codecs.
#pragma once

#include <torch/expanding_array.h>

#include "framework/config/codec.h"

namespace dlx::nn {

struct Pair {
  int64_t h = 0;
  int64_t w = 0;
  Pair() = default;
  Pair(int64_t both) : h(both), w(both) {}  // NOLINT: `3` means 3x3, as in PyTorch
  Pair(int64_t h_, int64_t w_) : h(h_), w(w_) {}
  torch::ExpandingArray<2> array() const { return torch::ExpandingArray<2>({h, w}); }
  std::string str() const { return std::to_string(h) + "x" + std::to_string(w); }
  bool operator==(const Pair& o) const { return h == o.h && w == o.w; }
};

struct Padding {
  std::string mode;  // "" (explicit size), "same" or "valid"
  Pair size{0};
};

inline config::Check<Pair> pair_at_least(int64_t lo) {
  return {[=](const Pair& p) { return p.h >= lo && p.w >= lo; },
          "integers >= " + std::to_string(lo)};
}

}  // namespace dlx::nn

namespace dlx::config {

template <>
struct Codec<nn::Pair> {
  static constexpr const char* name = "an integer or [height, width]";
  static bool decode(const YAML::Node& n, nn::Pair& v) {
    int64_t both;
    if (Codec<int64_t>::decode(n, both)) return v = nn::Pair(both), true;
    std::vector<int64_t> two;
    if (!Codec<std::vector<int64_t>>::decode(n, two) || two.size() != 2) return false;
    v = nn::Pair(two[0], two[1]);
    return true;
  }
  static Json encode(const nn::Pair& v) { return v.h == v.w ? Json(v.h) : Json::array({v.h, v.w}); }
};

template <>
struct Codec<nn::Padding> {
  static constexpr const char* name = "an integer, [height, width], 'same' or 'valid'";
  static bool decode(const YAML::Node& n, nn::Padding& v) {
    if (n.IsScalar() && (n.Scalar() == "same" || n.Scalar() == "valid")) {
      v = nn::Padding{n.Scalar(), nn::Pair(0)};
      return true;
    }
    nn::Pair size;
    if (!Codec<nn::Pair>::decode(n, size)) return false;
    v = nn::Padding{"", size};
    return true;
  }
  static Json encode(const nn::Padding& v) {
    return v.mode.empty() ? Codec<nn::Pair>::encode(v.size) : Json(v.mode);
  }
};

}  // namespace dlx::config
