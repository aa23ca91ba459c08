// models/torchvision/ against torchvision 0.14 itself (tests/nn/torchvision_crosscheck.py): for
// each file, torchvision builds the same network, loads dlx's weights by name with strict=True, and
// gives the same evaluation-mode logits for the same input, with batch norm's statistics and
// layer scales moved off their starting values so that they matter; and the other way, dlx loads
// torchvision's state_dict (model.weights) and gives torchvision's logits. Parameter counts are
// checked at the file's own input (torchvision's defaults) too.
#include <doctest/doctest.h>

#include <ATen/core/Dict.h>
#include <ATen/ops/rand.h>
#include <ATen/ops/randint.h>
#include <torch/serialize.h>

#include <algorithm>
#include <regex>

#include <nlohmann/json.hpp>

#include "framework/core/files.h"
#include "framework/data/image_io.h"
#include "framework/train/checkpoint.h"
#include "framework/train/weights.h"
#include "tests/helpers.h"

using namespace dlx;

namespace {

namespace fs = std::filesystem;

struct Family {
  const char* label;
  const char* pattern;        // the files' names (without .yaml), a regular expression
  int64_t size;               // the tested image size: small where the architecture allows
  bool release_only = false;  // large (or the same constructs as a smaller family): not under ASan
};

// Every file of models/torchvision/ belongs to one family (a test below checks that); a family's
// test checks all its files, so a new file needs no new test.
const std::vector<Family>& families() {
  static const std::vector<Family> all{
      {"alexnet", "alexnet", 64},
      {"vgg", "vgg\\d+(_bn)?", 32, true},
      {"resnet", "resnet\\d+|resnext50_32x4d|wide_resnet50_2", 64, true},
      {"resnet_large", "resnext101_.*|wide_resnet101_2", 64, true},
      {"mobilenet", "mobilenet_v\\d.*", 64},
      {"mnasnet", "mnasnet.*", 64, true},
      {"efficientnet", "efficientnet_b[0-4]", 64, true},
      {"efficientnet_large", "efficientnet_b[5-7]", 64, true},
      {"efficientnet_v2", "efficientnet_v2_.*", 64, true},
      {"regnet", "regnet_[xy]_(400mf|800mf|1_6gf|3_2gf|8gf)", 64, true},
      {"regnet_large", "regnet_[xy]_(16gf|32gf|128gf)", 64, true},
      {"convnext", "convnext_(tiny|small)", 64},
      {"convnext_large", "convnext_(base|large)", 64, true},
      {"vit", "vit_b_(16|32)", 32},
      {"vit_large", "vit_l_(16|32)", 32, true},
      {"vit_huge", "vit_h_14", 28, true},
      // 72: stage sides 18, 9, 5, 3 pad to whole windows, shift in two stages and not in the
      // others (a window covers them), and merge odd sides.
      {"swin", "swin_(t|v2_t)", 72},
      {"swin_large", "swin_(s|b|v2_s|v2_b)", 72, true},
      {"shufflenet", "shufflenet_v2_.*", 64},
      {"squeezenet", "squeezenet.*", 64},
      {"densenet", "densenet.*", 64, true},
      {"googlenet", "googlenet", 64},
      {"inception", "inception_v3", 96},
      // torchvision's partitions of 7 need every block's side to be a multiple of 7.
      {"maxvit", "maxvit_t", 224, true},
  };
  return all;
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(testing::source_dir() / "models/torchvision")) {
    const std::string stem = entry.path().stem().string();
    if (entry.path().extension() == ".yaml" && stem[0] != '_') names.push_back(stem);
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool in_family(const Family& f, const std::string& name) {
  return std::regex_match(name, std::regex(f.pattern));
}

fs::path model_file(const std::string& name) {
  return testing::source_dir() / "models/torchvision" / (name + ".yaml");
}

// Batch norm's running statistics moved by a training-mode pass, and every per-channel parameter
// (norm scales and shifts, layer scales, biases) drawn away from its constant start.
void make_telling(nn::Network& net) {
  torch::NoGradGuard no_grad;
  for (auto& p : net.body->parameters()) {
    if (p.numel() == p.size(0)) p.uniform_(0.5, 1.5);
  }
  std::vector<int64_t> sizes{4};
  sizes.insert(sizes.end(), net.input.begin(), net.input.end());
  net.body->train();
  net.body->forward(at::rand(sizes));
  net.body->eval();
}

struct Case {
  std::string name;
  std::string line;  // what torchvision_crosscheck.py must print first for it
  at::Tensor input;
};

// Writes NAME.weights.pt and NAME.io.pt into `dir`.
Case write_case(const std::string& name, int64_t size, const fs::path& dir) {
  torch::manual_seed(7);
  config::ModelSpec spec = config::load_model(model_file(name));
  nn::Network net = nn::build_network(spec, {spec.input[0], size, size});
  // The count at the file's own input (torchvision's defaults): a network built again only where
  // the image size changes it (a ViT's position embedding); in the others pooling to a fixed
  // size makes the parameters independent of it.
  const int64_t full = name.rfind("vit_", 0) == 0 ? nn::build_network(spec, spec.input).parameters()
                                                  : net.parameters();
  make_telling(net);
  at::Tensor x = at::rand({2, spec.input[0], size, size});
  at::Tensor y;
  {
    torch::NoGradGuard no_grad;
    y = net.body->forward(x);
  }
  train::save_weights(dir / (name + ".weights.pt"), net);
  c10::Dict<std::string, at::Tensor> io;
  io.insert("input", x);
  io.insert("output", y);
  std::vector<char> bytes = torch::pickle_save(c10::IValue(io));
  write_file_atomic(dir / (name + ".io.pt"), std::string(bytes.data(), bytes.size()));
  return {name,
          name + ": " + std::to_string(net.parameters()) + " parameters (" + std::to_string(full) +
              " at torchvision's defaults); ",
          x};
}

// The other way: torchvision's state_dict (NAME.tv.pt, every number moved from dlx's) loaded by
// name through model.weights gives torchvision's logits (NAME.tv-output.f32).
void check_torchvision_weights(const Case& c, const fs::path& dir) {
  CAPTURE(c.name);
  torch::manual_seed(5);
  const config::ModelSpec spec = config::load_model(model_file(c.name));
  nn::Network net = nn::build_network(spec, {c.input.size(1), c.input.size(2), c.input.size(3)});
  config::WeightsSpec weights;
  weights.file = (dir / (c.name + ".tv.pt")).string();
  const train::StartedFrom from = train::start_from_weights(net, weights, Location{c.name});
  CHECK(from.fresh.empty());
  CHECK(from.loaded == int64_t(net.state().size()));
  net.body->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor got = net.body->forward(c.input);
  std::string logits = read_file(dir / (c.name + ".tv-output.f32"));
  REQUIRE(logits.size() == size_t(got.numel()) * sizeof(float));
  const at::Tensor expected = at::from_blob(logits.data(), got.sizes(), at::kFloat).clone();
  const double error =
      (got - expected).abs().max().item<double>() / expected.abs().max().item<double>();
  MESSAGE(c.name << ": torchvision's weights give its logits to " << error);
  CHECK(error < 1e-4);
  CHECK(at::equal(got.argmax(1), expected.argmax(1)));
}

void check_family(const Family& family) {
  std::string out;
  if (testing::run_command("/usr/bin/python3 -c 'import torchvision'", out) != 0)
    DLX_SKIP("no python3 with torchvision (Debian's python3-torchvision)");
  testing::TempDir dir;
  std::vector<Case> cases;
  std::string names;
  for (const auto& name : model_names()) {
    if (!in_family(family, name)) continue;
    cases.push_back(write_case(name, family.size, dir.path()));
    names += " " + name;
  }
  REQUIRE_MESSAGE(!names.empty(), "no file of family " << family.label);
  const int code = testing::run_command(
      "/usr/bin/python3 " +
          (testing::source_dir() / "tests/nn/torchvision_crosscheck.py").string() + " " +
          dir.path().string() + names,
      out);
  MESSAGE(out);
  CHECK(code == 0);
  for (const auto& c : cases) {
    CHECK_MESSAGE(out.find(c.line) != std::string::npos, c.line);
    check_torchvision_weights(c, dir.path());
  }
}

void check_family(const char* label) {
  for (const auto& f : families())
    if (std::string(f.label) == label) {
      if (f.release_only)
        DLX_RELEASE_ONLY("hundreds of megabytes of weights, or the constructs of a smaller family");
      return check_family(f);
    }
  FAIL("no family " << label);
}

// 10 classes of 32x32 RGB images, 3 per class in train/ and 1 in test/, each class a brightness.
void write_folder_dataset(const fs::path& root) {
  for (int c = 0; c < 10; ++c)
    for (int i = 0; i < 4; ++i) {
      at::Tensor image = at::randint(0, 64, {3, 32, 32}, at::kByte).add(c * 19);
      const fs::path file = root / (i < 3 ? "train" : "test") / ("class" + std::to_string(c)) /
                            (std::to_string(i) + ".png");
      fs::create_directories(file.parent_path());
      write_file_atomic(file, data::encode_png(image));
    }
}

// `dlx run` of the model on the folder for one epoch; the run's checkpoint then loads into
// torchvision's model for 10 classes and 32x32 images with strict=True.
void train_and_load(const std::string& name) {
  std::string out;
  if (testing::run_command("/usr/bin/python3 -c 'import torchvision'", out) != 0)
    DLX_SKIP("no python3 with torchvision (Debian's python3-torchvision)");
  testing::TempDir dir;
  torch::manual_seed(11);
  write_folder_dataset(dir.path() / "images");
  const auto file = dir.write(
      "exp.yaml", "name: tv\nmodel: " + model_file(name).string() +
                      "\ndata: {dataset: folder, root: " + (dir.path() / "images").string() +
                      ", batch_size: 10}\ntrain: {epochs: 1, optimizer: {type: sgd, lr: 0.01}, "
                      "device: cpu}\n");
  REQUIRE(testing::run_dlx("run " + file.string() + " --runs " + (dir.path() / "runs").string(),
                           out) == 0);
  fs::path run;
  for (const auto& e : fs::directory_iterator(dir.path() / "runs/tv")) run = e.path();
  const auto report = nlohmann::json::parse(read_file(run / "report.json"));
  CHECK(report["status"] == "completed");
  CHECK(report["model"]["input"] == nlohmann::json::array({3, 32, 32}));
  const int code = testing::run_command(
      "/usr/bin/python3 " +
          (testing::source_dir() / "tests/nn/torchvision_crosscheck.py").string() + " --load " +
          name + " " + (run / "checkpoint.pt").string() + " 10 32",
      out);
  MESSAGE(out);
  CHECK(code == 0);
  CHECK(out.find(name + ": the run's checkpoint loads strictly") == 0);
}

}  // namespace

TEST_CASE("one epoch of resnet50, mobilenet_v3_large, convnext_tiny and vit_b_16 on own images") {
  DLX_RELEASE_ONLY("hundreds of megabytes of weights written and read");
  for (const std::string name : {"resnet50", "mobilenet_v3_large", "convnext_tiny", "vit_b_16"}) {
    CAPTURE(name);
    train_and_load(name);
  }
}

TEST_CASE("every file of models/torchvision/ is in one family checked against torchvision") {
  for (const auto& name : model_names()) {
    int in = 0;
    for (const auto& f : families()) in += in_family(f, name);
    CHECK_MESSAGE(in == 1, name << " is in " << in << " families");
  }
}

// One test per family, so that ctest runs them side by side; the large ones in release only.
#define DLX_TORCHVISION_FAMILY(label)                                          \
  TEST_CASE("torchvision's " label " models agree with models/torchvision/") { \
    check_family(label);                                                       \
  }
DLX_TORCHVISION_FAMILY("alexnet")
DLX_TORCHVISION_FAMILY("vgg")
DLX_TORCHVISION_FAMILY("resnet")
DLX_TORCHVISION_FAMILY("resnet_large")
DLX_TORCHVISION_FAMILY("mobilenet")
DLX_TORCHVISION_FAMILY("mnasnet")
DLX_TORCHVISION_FAMILY("efficientnet")
DLX_TORCHVISION_FAMILY("efficientnet_large")
DLX_TORCHVISION_FAMILY("efficientnet_v2")
DLX_TORCHVISION_FAMILY("regnet")
DLX_TORCHVISION_FAMILY("regnet_large")
DLX_TORCHVISION_FAMILY("convnext")
DLX_TORCHVISION_FAMILY("convnext_large")
DLX_TORCHVISION_FAMILY("vit")
DLX_TORCHVISION_FAMILY("vit_large")
DLX_TORCHVISION_FAMILY("vit_huge")
DLX_TORCHVISION_FAMILY("swin")
DLX_TORCHVISION_FAMILY("swin_large")
DLX_TORCHVISION_FAMILY("maxvit")
DLX_TORCHVISION_FAMILY("shufflenet")
DLX_TORCHVISION_FAMILY("squeezenet")
DLX_TORCHVISION_FAMILY("densenet")
DLX_TORCHVISION_FAMILY("googlenet")
DLX_TORCHVISION_FAMILY("inception")
