#include "framework/config/image_specs.h"

namespace dlx::config {

std::string Size2::str() const {
  return std::to_string(h) + "x" + std::to_string(w);
}

bool Codec<Size2>::decode(const YAML::Node& n, Size2& v) {
  int64_t h = 0, w = 0;
  if (n.IsScalar()) {
    if (!Codec<int64_t>::decode(n, h)) return false;
    w = h;
  } else if (!n.IsSequence() || n.size() != 2 || !Codec<int64_t>::decode(n[0], h) ||
             !Codec<int64_t>::decode(n[1], w)) {
    return false;
  }
  if (h < 0 || w < 0) return false;
  v = {h, w};
  return true;
}

Json Codec<Size2>::encode(const Size2& v) {
  if (v.h == v.w) return v.h;
  return Json::array({v.h, v.w});
}

bool Codec<NormalizeSpec>::decode(const YAML::Node& n, NormalizeSpec& v) {
  if (n.IsScalar()) {
    if (n.Scalar() == "none") return v = {}, true;
    if (n.Scalar() == "auto") return v = {NormalizeKind::kAuto, {}, {}}, true;
    return false;
  }
  if (!n.IsMap() || n.size() != 2 || !n["mean"] || !n["std"]) return false;
  NormalizeSpec given{NormalizeKind::kGiven, {}, {}};
  if (!Codec<std::vector<double>>::decode(n["mean"], given.mean) ||
      !Codec<std::vector<double>>::decode(n["std"], given.std))
    return false;
  v = given;
  return true;
}

Json Codec<NormalizeSpec>::encode(const NormalizeSpec& v) {
  switch (v.kind) {
    case NormalizeKind::kNone:
      return "none";
    case NormalizeKind::kAuto:
      return "auto";
    case NormalizeKind::kGiven:
      break;
  }
  return Json{{"mean", v.mean}, {"std", v.std}};
}

const std::vector<Choice<AugmentKind>>& Choices<AugmentKind>::all() {
  static const std::vector<Choice<AugmentKind>> table{
      {AugmentKind::kRandomCrop, "random_crop",
       "pad with zeros, then crop at a random place {size, padding}"},
      {AugmentKind::kHorizontalFlip, "horizontal_flip", "mirror left to right with chance {p}"},
      {AugmentKind::kRandomResizedCrop, "random_resized_crop",
       "crop a random area and aspect ratio, resized to {size, scale, ratio}"},
      {AugmentKind::kVerticalFlip, "vertical_flip", "mirror top to bottom with chance {p}"},
      {AugmentKind::kRandomRotation, "random_rotation",
       "rotate by a random angle {degrees, interpolation, fill} (torchvision RandomRotation)"},
      {AugmentKind::kColorJitter, "color_jitter",
       "brightness, contrast, saturation and hue, drawn and applied in a random order "
       "(torchvision ColorJitter)"},
      {AugmentKind::kTrivialAugment, "trivial_augment",
       "one random op at a random magnitude {num_magnitude_bins, interpolation, fill} "
       "(torchvision TrivialAugmentWide)"},
      {AugmentKind::kRandAugment, "rand_augment",
       "num_ops random ops at one magnitude {num_ops, magnitude, num_magnitude_bins, "
       "interpolation, fill} (torchvision RandAugment)"},
      {AugmentKind::kAutoAugment, "auto_augment",
       "a learned policy {policy, interpolation, fill} (torchvision AutoAugment)"},
      {AugmentKind::kRandomErasing, "random_erasing",
       "paint a random box {p, scale, ratio, value} after normalisation (torchvision "
       "RandomErasing)"}};
  return table;
}

const std::vector<Choice<Interpolation>>& Choices<Interpolation>::all() {
  static const std::vector<Choice<Interpolation>> table{
      {Interpolation::kNearest, "nearest", "the nearest pixel (torchvision's default)"},
      {Interpolation::kBilinear, "bilinear", "bilinear between the four nearest pixels"}};
  return table;
}

const std::vector<Choice<AutoAugmentPolicy>>& Choices<AutoAugmentPolicy>::all() {
  static const std::vector<Choice<AutoAugmentPolicy>> table{
      {AutoAugmentPolicy::kImagenet, "imagenet", "the policy learned on ImageNet"},
      {AutoAugmentPolicy::kCifar10, "cifar10", "the policy learned on CIFAR-10"},
      {AutoAugmentPolicy::kSvhn, "svhn", "the policy learned on SVHN"}};
  return table;
}

bool Codec<Fill>::decode(const YAML::Node& n, Fill& v) {
  if (n.IsScalar() && n.Scalar() == "none") return v = {}, true;
  double one = 0;
  if (Codec<double>::decode(n, one)) return v = {{one}}, true;
  return Codec<std::vector<double>>::decode(n, v.values);
}

Json Codec<Fill>::encode(const Fill& v) {
  if (v.none()) return "none";
  if (v.values.size() == 1) return v.values[0];
  return v.values;
}

bool Codec<Degrees>::decode(const YAML::Node& n, Degrees& v) {
  double d = 0;
  if (Codec<double>::decode(n, d)) {
    if (!(d >= 0)) return false;
    return v = {-d, d}, true;
  }
  std::vector<double> pair;
  if (!Codec<std::vector<double>>::decode(n, pair) || pair.size() != 2 || !(pair[0] <= pair[1]))
    return false;
  return v = {pair[0], pair[1]}, true;
}

Json Codec<Degrees>::encode(const Degrees& v) {
  return Json::array({v.lo, v.hi});
}

bool Codec<EraseValue>::decode(const YAML::Node& n, EraseValue& v) {
  if (n.IsScalar() && n.Scalar() == "random") return v = {true, 0}, true;
  double x = 0;
  if (!Codec<double>::decode(n, x)) return false;
  return v = {false, x}, true;
}

Json Codec<EraseValue>::encode(const EraseValue& v) {
  if (v.random) return "random";
  return v.value;
}

namespace {

// A [min, max] pair with 0 < min <= max (and max <= `top` when given).
void check_range(const Reader& r, const char* key, const std::vector<double>& v, double top) {
  const bool ok = v.size() == 2 && v[0] > 0 && v[0] <= v[1] && (top <= 0 || v[1] <= top);
  if (!ok)
    throw r.invalid(key, top > 0 ? "[min, max] with 0 < min <= max <= " + number_text(top)
                                 : "[min, max] with 0 < min <= max");
}

// What one key cannot check alone.
void check_args(const Reader& r, const AugmentSpec& a) {
  if (a.kind == AugmentKind::kRandomResizedCrop) {
    check_range(r, "scale", a.resized_crop.scale, 1.0);
    check_range(r, "ratio", a.resized_crop.ratio, 0);
  } else if (a.kind == AugmentKind::kRandomErasing) {
    check_range(r, "scale", a.erasing.scale, 1.0);
    check_range(r, "ratio", a.erasing.ratio, 0);
  } else if (a.kind == AugmentKind::kRandAugment && a.rand.magnitude >= a.rand.num_magnitude_bins) {
    throw r.invalid("magnitude", "an integer in [0, " +
                                     std::to_string(a.rand.num_magnitude_bins - 1) +
                                     "] (below num_magnitude_bins)");
  }
}

AugmentSpec read_one(const YAML::Node& item, const std::string& path,
                     const std::shared_ptr<const Origins>& origins) {
  const std::string form =
      "one augmentation as {name: {key: value}} or a name, e.g. "
      "{random_crop: {padding: 4}}";
  YAML::Node args(YAML::NodeType::Null);
  std::string name;
  if (item.IsScalar()) {
    name = item.Scalar();
  } else if (item.IsMap() && item.size() == 1) {
    name = item.begin()->first.Scalar();
    args = item.begin()->second;
  } else {
    throw ConfigError(origins->locate(path, item), path, form, describe(item));
  }
  AugmentSpec a;
  a.path = path;
  auto kind = parse_choice<AugmentKind>(name);
  if (!kind) {
    const auto names = choice_names<AugmentKind>();
    throw ConfigError(origins->locate(path, item), path, "one of " + join(names), "'" + name + "'",
                      did_you_mean(name, names));
  }
  a.kind = *kind;
  Reader r(args, child_path(path, name), origins);
  a.with_args([&](auto& spec) { r.read_spec(spec); });
  check_args(r, a);
  return a;
}

}  // namespace

std::vector<AugmentSpec> read_augment(const YAML::Node& node, const std::string& path,
                                      const std::shared_ptr<const Origins>& origins) {
  std::vector<AugmentSpec> list;
  if (!node || node.IsNull()) return list;
  if (!node.IsSequence())
    throw ConfigError(origins->locate(path, node), path,
                      "a list of augmentations (" + join(choice_names<AugmentKind>()) + ")",
                      describe(node));
  for (size_t i = 0; i < node.size(); ++i)
    list.push_back(read_one(node[i], item_path(path, i), origins));
  return list;
}

Json augment_json(const std::vector<AugmentSpec>& list) {
  Json out = Json::array();
  for (auto a : list) {
    const Json args = a.with_args([](auto& spec) { return JsonWriter::write(spec); });
    out.push_back(Json{{choice_name(a.kind), args}});
  }
  return out;
}

Size2 augmented_size(const AugmentSpec& a, Size2 in) {
  switch (a.kind) {
    case AugmentKind::kRandomCrop:
      return a.crop.size.empty() ? in : a.crop.size;
    case AugmentKind::kRandomResizedCrop:
      return a.resized_crop.size.empty() ? in : a.resized_crop.size;
    case AugmentKind::kHorizontalFlip:
    case AugmentKind::kVerticalFlip:
    case AugmentKind::kRandomRotation:
    case AugmentKind::kColorJitter:
    case AugmentKind::kTrivialAugment:
    case AugmentKind::kRandAugment:
    case AugmentKind::kAutoAugment:
    case AugmentKind::kRandomErasing:
      break;
  }
  return in;
}

}  // namespace dlx::config
