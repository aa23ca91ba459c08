// Each op of dlx's augmentations against torchvision 0.14's own function with the same
// parameters (tests/data/torchvision_augment.py, one Python process for every case): the ops of
// TrivialAugmentWide, RandAugment and AutoAugment by their magnitudes, RandomRotation, a vertical
// flip, ColorJitter's four adjustments, RandomErasing's box and the evaluation resize and crop.
// Ops that torchvision runs on uint8 (posterize, solarize, equalize) agree to one level, the
// others to 1e-5.
#include <doctest/doctest.h>

#include <ATen/ops/arange.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/stack.h>

#include <map>
#include <nlohmann/json.hpp>

#include "framework/core/files.h"
#include "framework/data/auto_augment.h"
#include "framework/data/image_ops.h"
#include "tests/helpers.h"

using namespace dlx;
using config::Fill;
using config::Interpolation;
using data::AutoOp;

namespace {

// A picture with gradients, hard edges, a flat patch and saturated corners, on uint8 levels.
at::Tensor picture(int64_t channels) {
  const int64_t h = 37, w = 53;
  const at::Tensor y = at::arange(h, at::kFloat).view({1, h, 1});
  const at::Tensor x = at::arange(w, at::kFloat).view({1, 1, w});
  const at::Tensor c = at::arange(channels, at::kFloat).view({channels, 1, 1});
  at::Tensor u = (x * 4 + y * 3 + c * 70).remainder(200);
  u = u + ((x / 8).floor() + (y / 6).floor()).remainder(2) * 50;  // a checkerboard of edges
  u = u.clamp(0, 255);
  u.narrow(1, 20, 10).narrow(2, 30, 12).fill_(90);  // a flat patch
  u.narrow(1, 0, 4).narrow(2, 0, 4).fill_(255);
  u.narrow(1, h - 4, 4).narrow(2, w - 4, 4).fill_(0);
  return u.round() / 255.0;
}

struct Case {
  std::string name;
  nlohmann::json spec;  // for the script
  at::Tensor got;       // dlx's result, [C, H, W]
  double tolerance;
  std::string group;  // the op, for the summary of differences
};

class Cases {
 public:
  explicit Cases(const std::filesystem::path& dir) : dir_(dir) {
    images_["rgb"] = picture(3);
    images_["grey"] = picture(1);
    for (const auto& [name, image] : images_)
      write_file_atomic(dir / (name + ".f32"),
                        std::string(static_cast<const char*>(image.data_ptr()),
                                    size_t(image.numel()) * sizeof(float)));
  }
  const at::Tensor& image(const std::string& name) { return images_.at(name); }

  void add(const std::string& group, const std::string& image, nlohmann::json spec,
           const at::Tensor& got, bool uint8 = false) {
    Case c;
    c.name = group + "-" + image + "-" + std::to_string(cases_.size());
    c.group = group;
    spec["name"] = c.name;
    spec["image"] = image;
    spec["shape"] = images_.at(image).sizes().vec();
    spec["uint8"] = uint8;
    c.spec = spec;
    c.got = got.contiguous();
    c.tolerance = uint8 ? 1 / 255.0 + 1e-6 : 1e-5;
    cases_.push_back(c);
  }

  // Runs the script over every case and checks each; returns the largest difference per group.
  std::map<std::string, double> check() {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& c : cases_) list.push_back(c.spec);
    write_file_atomic(dir_ / "cases.json", list.dump());
    std::string out;
    const int code = testing::run_command(
        "/usr/bin/python3 " +
            (testing::source_dir() / "tests/data/torchvision_augment.py").string() + " " +
            dir_.string() + " 2>&1",
        out);
    INFO(out);
    REQUIRE(code == 0);
    std::map<std::string, double> worst;
    for (const auto& c : cases_) {
      CAPTURE(c.name);
      CAPTURE(c.spec.dump());
      std::string bytes = read_file(dir_ / (c.name + ".tv.f32"));
      REQUIRE(bytes.size() == size_t(c.got.numel()) * sizeof(float));
      const at::Tensor want = at::from_blob(bytes.data(), c.got.sizes(), at::kFloat).clone();
      const double diff = (c.got - want).abs().max().item<double>();
      CHECK(diff <= c.tolerance);
      worst[c.group] = std::max(worst[c.group], diff);
    }
    return worst;
  }

 private:
  std::filesystem::path dir_;
  std::map<std::string, at::Tensor> images_;
  std::vector<Case> cases_;
};

const char* interpolation_name(Interpolation i) {
  return i == Interpolation::kNearest ? "nearest" : "bilinear";
}

nlohmann::json fill_json(const Fill& fill, int64_t channels) {
  if (fill.none()) return nullptr;
  std::vector<double> v = fill.values;
  v.resize(size_t(channels), v[0]);
  return v;
}

// One op at several magnitudes, as one batch of copies of the image (each row its own magnitude),
// against torchvision's _apply_op one magnitude at a time.
void add_op(Cases& cases, AutoOp op, const std::vector<double>& magnitudes,
            Interpolation interpolation = Interpolation::kNearest, const Fill& colour = {}) {
  const bool uint8 = op == AutoOp::kPosterize || op == AutoOp::kSolarize || op == AutoOp::kEqualize;
  for (const std::string image : {"rgb", "grey"}) {
    const at::Tensor x = cases.image(image);
    const Fill fill =
        x.size(0) == 1 && colour.values.size() == 3 ? Fill{{colour.values[0]}} : colour;
    const int64_t n = int64_t(magnitudes.size());
    const at::Tensor batch = x.unsqueeze(0).expand({n, -1, -1, -1}).contiguous();
    const at::Tensor got = data::apply_op(batch, op, magnitudes, interpolation, fill);
    for (int64_t i = 0; i < n; ++i)
      cases.add(data::op_name(op), image,
                {{"op", "auto"},
                 {"args",
                  {{"name", data::op_name(op)},
                   {"magnitude", magnitudes[size_t(i)]},
                   {"interpolation", interpolation_name(interpolation)},
                   {"fill", fill_json(fill, x.size(0))}}}},
                got[i], uint8);
  }
}

// One of ColorJitter's adjustments at several factors, likewise.
void add_adjustment(Cases& cases, const std::string& name, const std::vector<double>& factors) {
  for (const std::string image : {"rgb", "grey"}) {
    const at::Tensor x = cases.image(image);
    const int64_t n = int64_t(factors.size());
    const at::Tensor batch = x.unsqueeze(0).expand({n, -1, -1, -1}).contiguous();
    const at::Tensor got = name == "brightness"   ? data::adjust_brightness(batch, factors)
                           : name == "contrast"   ? data::adjust_contrast(batch, factors)
                           : name == "saturation" ? data::adjust_saturation(batch, factors)
                                                  : data::adjust_hue(batch, factors);
    for (int64_t i = 0; i < n; ++i)
      cases.add(name, image, {{"op", name}, {"args", {{"factor", factors[size_t(i)]}}}}, got[i]);
  }
}

}  // namespace

TEST_CASE("every augmentation op agrees with torchvision 0.14's function with its parameters") {
  std::string out;
  if (testing::run_command("/usr/bin/python3 -c 'import torchvision' 2>&1", out) != 0)
    DLX_SKIP("no python3 with torchvision (Debian's python3-torchvision)");
  testing::TempDir dir;
  Cases cases(dir.path());
  // Magnitudes as the three policies draw them (signed), and some beyond.
  add_op(cases, AutoOp::kIdentity, {0});
  for (AutoOp op : {AutoOp::kShearX, AutoOp::kShearY}) {
    add_op(cases, op, {0.3, -0.3, 0.99, -0.1683});
    add_op(cases, op, {0.3, -0.6}, Interpolation::kBilinear, Fill{{0.25, 0.5, 0.75}});
    add_op(cases, op, {0.45}, Interpolation::kBilinear, Fill{{0}});
  }
  for (AutoOp op : {AutoOp::kTranslateX, AutoOp::kTranslateY}) {
    add_op(cases, op, {3.2, -7.9, 14.0, -32.0});
    add_op(cases, op, {5.5, -11.0}, Interpolation::kBilinear, Fill{{0.4}});
  }
  add_op(cases, AutoOp::kRotate, {30, -13.5, 135, -90, 7.25});
  add_op(cases, AutoOp::kRotate, {30, -47.3}, Interpolation::kBilinear);
  add_op(cases, AutoOp::kRotate, {21, -66}, Interpolation::kBilinear, Fill{{1, 0, 0.5}});
  add_op(cases, AutoOp::kRotate, {12.5}, Interpolation::kNearest, Fill{{0.7}});
  for (AutoOp op : {AutoOp::kBrightness, AutoOp::kColor, AutoOp::kContrast, AutoOp::kSharpness})
    add_op(cases, op, {0.9, -0.9, 0.33, -0.5, 0.99});
  add_op(cases, AutoOp::kPosterize, {8, 6, 4, 2, 1});
  add_op(cases, AutoOp::kSolarize, {255, 246.5, 127.5, 8.2, 0});
  add_op(cases, AutoOp::kAutoContrast, {0});
  add_op(cases, AutoOp::kEqualize, {0});
  add_op(cases, AutoOp::kInvert, {0});
  add_adjustment(cases, "brightness", {0.6, 1.4, 0});
  add_adjustment(cases, "contrast", {0.6, 1.4, 0});
  add_adjustment(cases, "saturation", {0.6, 1.4, 0});
  add_adjustment(cases, "hue", {0.1, -0.1, 0.5, -0.37});
  for (const std::string image : {"rgb", "grey"}) {
    const at::Tensor x = cases.image(image).unsqueeze(0);
    const int64_t c = x.size(1);
    // RandomRotation's angle, with its default fill 0 blended through the mask.
    for (const auto& [angle, interpolation] : std::vector<std::pair<double, Interpolation>>{
             {17.5, Interpolation::kBilinear}, {-40, Interpolation::kNearest}}) {
      const auto m = data::inverse_affine_matrix({0, 0}, -angle, {0, 0}, 1, {0, 0});
      cases.add("random_rotation", image,
                {{"op", "rotate"},
                 {"args",
                  {{"angle", angle},
                   {"interpolation", interpolation_name(interpolation)},
                   {"fill", std::vector<double>(size_t(c), 0.0)}}}},
                data::affine(x, {m}, interpolation, Fill{{0}})[0]);
    }
    cases.add("vertical_flip", image, {{"op", "vflip"}}, x[0].flip({1}));
    cases.add("random_erasing", image,
              {{"op", "erase"},
               {"args", {{"top", 5}, {"left", 9}, {"h", 11}, {"w", 20}, {"value", -0.75}}}},
              data::erase(x, {{5, 9, 11, 20}}, -0.75)[0]);
    for (const auto& [resize, crop] :
         std::vector<std::pair<int64_t, int64_t>>{{32, 28}, {45, 40}, {30, 0}, {0, 24}, {20, 25}}) {
      at::Tensor y = resize ? data::resize_shorter(x, resize) : x;
      if (crop) y = data::center_crop(y, {crop, crop});
      cases.add("val_resize+val_crop", image,
                {{"op", "eval"}, {"args", {{"resize", resize}, {"crop", crop}}}}, y[0]);
    }
  }
  for (const auto& [group, diff] : cases.check())
    MESSAGE(group << ": max |dlx - torchvision| = " << diff);
}
