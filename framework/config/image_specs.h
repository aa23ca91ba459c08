// The config types of image data that are more than one scalar: a size (one side or [h, w]),
// the normalisation (none, auto or given statistics) and the augmentation list. Each reads from
// YAML and writes to JSON through its Codec, or (augment) through a visit like model layers, so
// that a mistake inside it is located as precisely as any other key.
#pragma once

#include <string>
#include <vector>

#include "framework/config/reader.h"

namespace dlx::config {

/// An image size: `28` (a square) or `[height, width]`; 0 means "as stored".
struct Size2 {
  int64_t h = 0, w = 0;
  bool empty() const { return h == 0 && w == 0; }
  bool operator==(const Size2& o) const { return h == o.h && w == o.w; }
  bool operator!=(const Size2& o) const { return !(*this == o); }
  std::string str() const;  // "32x32"
};

template <>
struct Codec<Size2> {
  static constexpr const char* name = "a side or [height, width], integers >= 0";
  static bool decode(const YAML::Node& n, Size2& v);
  // A square is written as one number, so configs written before [h, w] existed keep their
  // identity.
  static Json encode(const Size2& v);
};

enum class NormalizeKind { kNone, kAuto, kGiven };

/// data.normalize: none, auto (per-channel statistics of the training split) or {mean, std}
/// (of pixels scaled to [0, 1]).
struct NormalizeSpec {
  NormalizeKind kind = NormalizeKind::kNone;
  std::vector<double> mean, std;
};

template <>
struct Codec<NormalizeSpec> {
  static constexpr const char* name = "none, auto or {mean: [..], std: [..]}";
  static bool decode(const YAML::Node& n, NormalizeSpec& v);
  static Json encode(const NormalizeSpec& v);
};

enum class AugmentKind { kRandomCrop, kHorizontalFlip, kRandomResizedCrop };

template <>
struct Choices<AugmentKind> {
  static const std::vector<Choice<AugmentKind>>& all();
};

struct RandomCropSpec {
  Size2 size;           // the crop; default the image's size
  int64_t padding = 0;  // zeros added on every side first

  template <class V>
  void visit(V& v) {
    v.field("size", size, "the crop, a side or [h, w]; default the image's own size");
    v.field("padding", padding, "zero pixels added on each side before cropping", at_least(0));
  }
};

struct HorizontalFlipSpec {
  double p = 0.5;  // the chance that an image is mirrored

  template <class V>
  void visit(V& v) {
    v.field("p", p, "the chance that an image is mirrored left to right", in_range(0, 1));
  }
};

struct RandomResizedCropSpec {
  Size2 size;                               // the output; default the image's own size
  std::vector<double> scale{0.08, 1.0};     // share of the image's area the crop covers
  std::vector<double> ratio{0.75, 4 / 3.};  // width / height of the crop

  template <class V>
  void visit(V& v) {
    v.field("size", size, "the output, a side or [h, w]; default the image's own size");
    v.field("scale", scale, "[min, max] share of the image's area that the crop covers");
    v.field("ratio", ratio, "[min, max] width/height of the crop (drawn log-uniformly)");
  }
};

/// One entry of data.augment: `{random_crop: {size: 32, padding: 4}}` or just `horizontal_flip`.
struct AugmentSpec {
  AugmentKind kind = AugmentKind::kHorizontalFlip;
  RandomCropSpec crop;
  HorizontalFlipSpec flip;
  RandomResizedCropSpec resized_crop;
  std::string path;  // "data.augment[1]", for messages
};

/// Reads data.augment's list (null = empty); a ConfigError names the entry and key at fault.
std::vector<AugmentSpec> read_augment(const YAML::Node& node, const std::string& path,
                                      const std::shared_ptr<const Origins>& origins);
Json augment_json(const std::vector<AugmentSpec>& list);

/// The size an image of `in` has after the augmentation (training) and after its evaluation
/// counterpart (a centre crop or pad, or a resize): the same.
Size2 augmented_size(const AugmentSpec& a, Size2 in);

}  // namespace dlx::config
