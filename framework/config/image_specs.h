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

enum class AugmentKind {
  kRandomCrop,
  kHorizontalFlip,
  kRandomResizedCrop,
  kVerticalFlip,
  kRandomRotation,
  kColorJitter,
  kTrivialAugment,
  kRandAugment,
  kAutoAugment,
  kRandomErasing
};

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

/// How a geometric op samples: torchvision's InterpolationMode (tensors take these two).
enum class Interpolation { kNearest, kBilinear };

template <>
struct Choices<Interpolation> {
  static const std::vector<Choice<Interpolation>>& all();
};

/// The colour of pixels a geometric op brings in from outside the image, in [0, 1]: none
/// (torchvision's fill=None: plain zero padding, blended at the edges), one number for every
/// channel, or one per channel. torchvision blends a given fill through a mask, so `0` and none
/// differ at the edges with bilinear sampling.
struct Fill {
  std::vector<double> values;  // empty = none
  bool none() const { return values.empty(); }
};

template <>
struct Codec<Fill> {
  static constexpr const char* name = "none, a number or one number per channel";
  static bool decode(const YAML::Node& n, Fill& v);
  static Json encode(const Fill& v);
};

/// An angle range in degrees: `d` means [-d, d], or [min, max].
struct Degrees {
  double lo = 0, hi = 0;
};

template <>
struct Codec<Degrees> {
  static constexpr const char* name = "a number d >= 0 (for [-d, d]) or [min, max], min <= max";
  static bool decode(const YAML::Node& n, Degrees& v);
  static Json encode(const Degrees& v);
};

/// What random_erasing paints: a number (of the normalised image: 0 is the mean) or `random`
/// (per-pixel standard normal noise).
struct EraseValue {
  bool random = false;
  double value = 0;
};

template <>
struct Codec<EraseValue> {
  static constexpr const char* name = "a number or random";
  static bool decode(const YAML::Node& n, EraseValue& v);
  static Json encode(const EraseValue& v);
};

enum class AutoAugmentPolicy { kImagenet, kCifar10, kSvhn };

template <>
struct Choices<AutoAugmentPolicy> {
  static const std::vector<Choice<AutoAugmentPolicy>>& all();
};

struct VerticalFlipSpec {
  double p = 0.5;  // the chance that an image is turned upside down

  template <class V>
  void visit(V& v) {
    v.field("p", p, "the chance that an image is mirrored top to bottom", in_range(0, 1));
  }
};

inline Check<Fill> fill_check() {
  return {[](const Fill& f) { return f.values.size() <= 1 || f.values.size() == 3; },
          "none, a number or 3 numbers (one per channel)"};
}

struct RandomRotationSpec {
  Degrees degrees{-15, 15};  // the angle, drawn uniformly (counter-clockwise)
  Interpolation interpolation = Interpolation::kNearest;
  Fill fill{{0}};  // torchvision's default for RandomRotation

  template <class V>
  void visit(V& v) {
    v.field("degrees", degrees,
            "the angle range: d for [-d, d] or [min, max], degrees counter-clockwise");
    v.field("interpolation", interpolation, "how rotated pixels are sampled");
    v.field("fill", fill, "the colour of the corners brought in, in [0, 1]", fill_check());
  }
};

struct ColorJitterSpec {
  double brightness = 0, contrast = 0, saturation = 0;  // factor in [max(0, 1 - x), 1 + x]
  double hue = 0;                                       // shift in [-hue, hue] of a turn

  template <class V>
  void visit(V& v) {
    v.field("brightness", brightness, "factor drawn in [max(0, 1 - x), 1 + x]; 0 = off",
            non_negative());
    v.field("contrast", contrast, "factor drawn in [max(0, 1 - x), 1 + x]; 0 = off",
            non_negative());
    v.field("saturation", saturation, "factor drawn in [max(0, 1 - x), 1 + x]; 0 = off",
            non_negative());
    v.field("hue", hue, "hue shift drawn in [-x, x] of a full turn; 0 = off", in_range(0, 0.5));
  }
};

/// The keys the automatic policies share: how geometric ops sample and fill.
template <class V>
void visit_sampling(V& v, Interpolation& interpolation, Fill& fill) {
  v.field("interpolation", interpolation, "how shears, translations and rotations sample");
  v.field("fill", fill, "the colour brought in by geometric ops, in [0, 1]; none = zeros",
          fill_check());
}

struct TrivialAugmentSpec {
  int64_t num_magnitude_bins = 31;
  Interpolation interpolation = Interpolation::kNearest;
  Fill fill;

  template <class V>
  void visit(V& v) {
    v.field("num_magnitude_bins", num_magnitude_bins, "magnitudes an op may draw from",
            at_least(2));
    visit_sampling(v, interpolation, fill);
  }
};

struct RandAugmentSpec {
  int64_t num_ops = 2;    // ops applied one after the other
  int64_t magnitude = 9;  // the bin every op uses
  int64_t num_magnitude_bins = 31;
  Interpolation interpolation = Interpolation::kNearest;
  Fill fill;

  template <class V>
  void visit(V& v) {
    v.field("num_ops", num_ops, "ops applied one after the other, each drawn", at_least(1));
    v.field("magnitude", magnitude, "the magnitude bin of every op, in [0, num_magnitude_bins-1]",
            at_least(0));
    v.field("num_magnitude_bins", num_magnitude_bins, "magnitude bins", at_least(2));
    visit_sampling(v, interpolation, fill);
  }
};

struct AutoAugmentSpec {
  AutoAugmentPolicy policy = AutoAugmentPolicy::kImagenet;
  Interpolation interpolation = Interpolation::kNearest;
  Fill fill;

  template <class V>
  void visit(V& v) {
    v.field("policy", policy, "the learned policy");
    visit_sampling(v, interpolation, fill);
  }
};

struct RandomErasingSpec {
  double p = 0.5;                         // the chance that an image gets a box
  std::vector<double> scale{0.02, 0.33};  // share of the image's area the box covers
  std::vector<double> ratio{0.3, 3.3};    // aspect of the box (drawn log-uniformly)
  EraseValue value;

  template <class V>
  void visit(V& v) {
    v.field("p", p, "the chance that an image gets a box", in_range(0, 1));
    v.field("scale", scale, "[min, max] share of the image's area that the box covers");
    v.field("ratio", ratio, "[min, max] aspect of the box (drawn log-uniformly)");
    v.field("value", value,
            "what fills the box, of the normalised image (0 = the mean), or random (normal noise)");
  }
};

/// One entry of data.augment: `{random_crop: {size: 32, padding: 4}}` or just `horizontal_flip`.
struct AugmentSpec {
  AugmentKind kind = AugmentKind::kHorizontalFlip;
  RandomCropSpec crop;
  HorizontalFlipSpec flip;
  RandomResizedCropSpec resized_crop;
  VerticalFlipSpec vertical_flip;
  RandomRotationSpec rotation;
  ColorJitterSpec jitter;
  TrivialAugmentSpec trivial;
  RandAugmentSpec rand;
  AutoAugmentSpec autoaugment;
  RandomErasingSpec erasing;
  std::string path;  // "data.augment[1]", for messages

  /// Calls `f` with the spec of this entry's kind (the one place that maps kinds to members).
  template <class F>
  decltype(auto) with_args(F&& f) {
    switch (kind) {
      case AugmentKind::kRandomCrop:
        return f(crop);
      case AugmentKind::kHorizontalFlip:
        return f(flip);
      case AugmentKind::kRandomResizedCrop:
        return f(resized_crop);
      case AugmentKind::kVerticalFlip:
        return f(vertical_flip);
      case AugmentKind::kRandomRotation:
        return f(rotation);
      case AugmentKind::kColorJitter:
        return f(jitter);
      case AugmentKind::kTrivialAugment:
        return f(trivial);
      case AugmentKind::kRandAugment:
        return f(rand);
      case AugmentKind::kAutoAugment:
        return f(autoaugment);
      case AugmentKind::kRandomErasing:
        break;
    }
    return f(erasing);
  }
};

/// Reads data.augment's list (null = empty); a ConfigError names the entry and key at fault.
std::vector<AugmentSpec> read_augment(const YAML::Node& node, const std::string& path,
                                      const std::shared_ptr<const Origins>& origins);
Json augment_json(const std::vector<AugmentSpec>& list);

/// The size an image of `in` has after the augmentation (training) and after its evaluation
/// counterpart (a centre crop or pad, or a resize): the same. Only the crops change it.
Size2 augmented_size(const AugmentSpec& a, Size2 in);

}  // namespace dlx::config
