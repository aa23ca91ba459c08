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
       "crop a random area and aspect ratio, resized to {size, scale, ratio}"}};
  return table;
}

namespace {

// A [min, max] pair with 0 < min <= max (and max <= `top` when given).
void check_range(const Reader& r, const char* key, const std::vector<double>& v, double top) {
  const bool ok = v.size() == 2 && v[0] > 0 && v[0] <= v[1] && (top <= 0 || v[1] <= top);
  if (!ok)
    throw r.invalid(key, top > 0 ? "[min, max] with 0 < min <= max <= " + number_text(top)
                                 : "[min, max] with 0 < min <= max");
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
  switch (a.kind) {
    case AugmentKind::kRandomCrop:
      r.read_spec(a.crop);
      break;
    case AugmentKind::kHorizontalFlip:
      r.read_spec(a.flip);
      break;
    case AugmentKind::kRandomResizedCrop:
      r.read_spec(a.resized_crop);
      check_range(r, "scale", a.resized_crop.scale, 1.0);
      check_range(r, "ratio", a.resized_crop.ratio, 0);
      break;
  }
  return a;
}

}  // namespace

std::vector<AugmentSpec> read_augment(const YAML::Node& node, const std::string& path,
                                      const std::shared_ptr<const Origins>& origins) {
  std::vector<AugmentSpec> list;
  if (!node || node.IsNull()) return list;
  if (!node.IsSequence())
    throw ConfigError(origins->locate(path, node), path,
                      "a list of augmentations (random_crop, horizontal_flip, "
                      "random_resized_crop)",
                      describe(node));
  for (size_t i = 0; i < node.size(); ++i)
    list.push_back(read_one(node[i], item_path(path, i), origins));
  return list;
}

Json augment_json(const std::vector<AugmentSpec>& list) {
  Json out = Json::array();
  for (auto a : list) {
    Json args;
    switch (a.kind) {
      case AugmentKind::kRandomCrop:
        args = JsonWriter::write(a.crop);
        break;
      case AugmentKind::kHorizontalFlip:
        args = JsonWriter::write(a.flip);
        break;
      case AugmentKind::kRandomResizedCrop:
        args = JsonWriter::write(a.resized_crop);
        break;
    }
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
      break;
  }
  return in;
}

}  // namespace dlx::config
