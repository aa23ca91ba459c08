// dlx export against clients no one here wrote: ONNX's checker (its C++ one inside dlx, Python's
// with full shape inference here) accepts every shipped model's export, and OpenCV's DNN module
// runs it on real Fashion-MNIST test images and gives dlx's logits, to 1e-4 of their scale, and
// its labels (tests/export/onnx_check.py).
#include <doctest/doctest.h>

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <set>

#include "framework/core/files.h"
#include "framework/data/batches.h"
#include "framework/data/dataset.h"
#include "framework/export/onnx.h"
#include "tests/helpers.h"

using namespace dlx;

namespace {

const char* kFashion = "/usr/share/datasets/fashion-mnist";

// The first 8 test images as dlx feeds a network of input `input`: resized as data.resize does,
// the grey channel repeated for a 3-channel network.
at::Tensor real_images(const nn::Shape& input) {
  static const data::Dataset fashion = [] {
    config::DataSpec spec;
    spec.root = kFashion;
    return data::load_dataset(spec);
  }();
  at::Tensor u8 = fashion.test.images.slice(0, 0, 8);
  if (input[0] == 3) u8 = u8.repeat({1, 3, 1, 1});
  data::BatchOptions resized;
  resized.resize = {input[1], input[2]};
  return data::prepare_images(u8, resized);
}

void write_floats(const std::filesystem::path& file, const at::Tensor& t) {
  const at::Tensor c = t.to(at::kFloat).contiguous();
  write_file_atomic(file, std::string(reinterpret_cast<const char*>(c.data_ptr<float>()),
                                      size_t(c.numel()) * sizeof(float)));
}

// Exports `model_file`'s network at `opset`, with telling weights and a normalisation (so that the
// graph's own Sub and Div are checked too), and has tests/export/onnx_check.py check it.
void check_export(const std::filesystem::path& model_file, int64_t opset = 13) {
  if (!std::filesystem::exists(kFashion)) DLX_SKIP("dataset-fashion-mnist is not installed");
  std::string out;
  if (testing::run_command("/usr/bin/python3 -c 'import onnx'", out) != 0)
    DLX_SKIP("no python3 with onnx (Debian's python3-onnx)");
  torch::manual_seed(3);
  const std::string model = model_file.stem().string();
  config::ModelSpec spec = config::load_model(model_file);
  nn::Network net = nn::build_network(spec, spec.input);
  testing::make_weights_telling(net);
  const size_t channels = size_t(net.input[0]);
  onnx_export::ModelOptions options;
  options.opset = opset;
  options.normalize = {std::vector<double>(channels, 0.3), std::vector<double>(channels, 0.4)};
  const std::string bytes = onnx_export::onnx_model(net, options);  // ONNX's C++ checker ran
  const at::Tensor x = real_images(net.input);
  at::Tensor logits;
  {
    torch::NoGradGuard no_grad;
    logits = net.body->forward((x - 0.3) / 0.4);
  }
  testing::TempDir dir;
  write_file_atomic(dir.path() / "model.onnx", bytes);
  write_floats(dir.path() / "x.bin", x);
  write_floats(dir.path() / "logits.bin", logits);
  const int code = testing::run_command(
      "/usr/bin/python3 " + (testing::source_dir() / "tests/export/onnx_check.py").string() + " " +
          (dir.path() / "model.onnx").string() + " " + (dir.path() / "x.bin").string() + " 8 " +
          std::to_string(net.input[0]) + " " + std::to_string(net.input[1]) + " " +
          std::to_string(net.input[2]) + " " + (dir.path() / "logits.bin").string(),
      out);
  MESSAGE(model << ": " << out);
  if (code == 77) DLX_SKIP("ONNX's checker accepts it; OpenCV (python3-opencv) is not installed");
  CHECK(code == 0);
}

void check_shipped(const std::string& model) {
  check_export(testing::source_dir() / "models" / (model + ".yaml"));
}

// The 224x224 networks take minutes under ASan; their layer types are exported there too, by the
// smaller networks and the every-layer model, and they themselves in the release build.
#define DLX_SKIP_LARGE_UNDER_ASAN() \
  DLX_RELEASE_ONLY("its layer types are exported by the every-layer model and LeNet")

// Every layer type and setting that the shipped models leave out.
const char* kEveryLayer = R"(
input: [3, 15, 15]
layers:
  - conv2d: {out_channels: 4, kernel_size: 4, padding: same, activation: gelu}
  - conv2d: {out_channels: 6, kernel_size: [3, 2], stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 2, bias: false, activation: leaky_relu}
  - batchnorm2d: {affine: false}
  - maxpool2d: {kernel_size: 3, stride: 2, ceil_mode: true}
  - tanh
  - leaky_relu: {negative_slope: 0.2}
  - gelu
  - avgpool2d: {kernel_size: 2, stride: 1, padding: 1, count_include_pad: false}
  - local_response_norm: {size: 3, k: 1.5}
  - adaptive_avgpool2d: {output_size: [5, 1]}
  - parallel:
      merge: concat
      branches:
        - []
        - [{conv2d: {out_channels: 2, kernel_size: 1, activation: tanh}}]
        - [{sigmoid: {}}, {relu: {}}]
  - flatten
  - dropout: {p: 0.3}
  - dense: {units: 12, bias: false, activation: sigmoid}
  - batchnorm1d
  - dense: {units: 5}
)";

// The layer types and constructs of today's convolutional networks (torchvision's zoo).
const char* kEveryModernLayer = R"(
input: [3, 8, 8]
layers:
  - conv2d: {out_channels: 8, kernel_size: 3, padding: 1, activation: silu}
  - hardswish
  - parallel: {inline: true, branches: [[layer_scale: {init: 0.5}, stochastic_depth: {p: 0.1}], []]}
  - parallel: {merge: concat, branches: [[channel_split: {index: 0}], [channel_split: {index: 1}, relu6]]}
  - flatten
  - dense: {units: 5}
)";

// A gate, layer and group norm, channel shuffle, tokens and attention (ViT), a channels-last
// stretch (ConvNeXt's block), Swin's windows and MaxViT's partitions: layers whose ONNX forms
// OpenCV 4.6's importer cannot follow (its Reshape and element-wise layers do not broadcast over
// the batch).
const char* kEveryTokenLayer = R"(
input: [3, 8, 8]
layers:
  - conv2d: {out_channels: 8, kernel_size: 1}
  - parallel:
      merge: mul
      branches:
        - []
        - [adaptive_avgpool2d: {output_size: 1}, conv2d: {out_channels: 8, kernel_size: 1, activation: relu6}, hardsigmoid]
  - layernorm: {eps: 1e-6}
  - groupnorm: {groups: 2}
  - channel_shuffle: {groups: 2}
  - permute: {dims: [1, 2, 0]}
  - layernorm: {over: last}
  - dense: {units: 12, flatten: false, activation: hardswish}
  - window_attention: {heads: 3, window: 3, shift: 1}
  - window_attention: {heads: 2, window: 5, shift: [2, 1], cosine: true}
  - patch_merge
  - dense: {units: 12, flatten: false}
  - permute: {dims: [2, 0, 1]}
  - partition: {type: window, size: 2}
  - layernorm: {over: last}
  - relative_attention: {head_dim: 4}
  - departition: {type: window}
  - partition: {type: grid, size: 2}
  - relative_attention: {head_dim: 6}
  - departition: {type: grid}
  - conv2d: {out_channels: 16, kernel_size: 2, stride: 2, patches: true}
  - tokens
  - class_token
  - position_embedding
  - multihead_attention: {heads: 4}
  - layernorm
  - dense: {units: 8, activation: gelu}
  - select_token
  - dense: {units: 5}
)";

}  // namespace

TEST_CASE("every layer type and setting exports at opsets 11, 13 and 17, and OpenCV agrees") {
  testing::TempDir dir;
  const auto file = dir.write("every-layer.yaml", kEveryLayer);
  for (int64_t opset : {11, 13, 17}) check_export(file, opset);
}

TEST_CASE("today's layer types export at opsets 11, 13 and 17, and OpenCV agrees") {
  testing::TempDir dir;
  const auto file = dir.write("every-modern-layer.yaml", kEveryModernLayer);
  for (int64_t opset : {11, 13, 17}) check_export(file, opset);
}

TEST_CASE(
    "group norm, channel shuffle, tokens, attention and windows export at opsets 11, 13 and 17") {
  // ONNX's checker, with full shape inference, accepts them (onnx_model runs it); no runtime here
  // imports them to compare numbers (OpenCV 4.6 cannot: see kEveryTokenLayer).
  testing::TempDir dir;
  config::ModelSpec spec =
      config::load_model(dir.write("every-token-layer.yaml", kEveryTokenLayer));
  nn::Network net = nn::build_network(spec, spec.input);
  for (int64_t opset : {11, 13, 17}) {
    onnx_export::ModelOptions options;
    options.opset = opset;
    onnx::ModelProto model;
    REQUIRE(model.ParseFromString(onnx_export::onnx_model(net, options)));
    // The state_dict's names: the bare parameters under their layers' own.
    std::set<std::string> names;
    for (const auto& w : model.graph().initializer()) names.insert(w.name());
    for (const auto& [key, value] : net.state())
      if (key.find("num_batches") == std::string::npos) CHECK_MESSAGE(names.count(key), key);
  }
}

TEST_CASE("a layer ONNX cannot express is one line naming it") {
  testing::TempDir dir;
  const auto file = dir.write("even-lrn.yaml", R"(
input: [1, 8, 8]
layers:
  - conv2d: {out_channels: 4, kernel_size: 3}
  - local_response_norm: {size: 4}
  - dense: {units: 3}
)");
  config::ModelSpec spec = config::load_model(file);
  nn::Network net = nn::build_network(spec, spec.input);
  CHECK(testing::runtime_error([&] { onnx_export::onnx_model(net, {}); }) ==
        "cannot export layer lrn0 (local_response_norm): an even size (4) centres PyTorch's "
        "window differently from ONNX's LRN (use an odd size)");
}

TEST_CASE("every layer type of the registry has an ONNX form") {
  // The registry test already lists the types; here each must also have an exporter.
  // (Types without one would fail any model that uses them, with a line naming the layer.)
  for (const auto& type : nn::builtin_layers().names())
    CHECK_MESSAGE(onnx_export::has_exporter(type), type);
}

TEST_CASE("exported LeNet: checked, and OpenCV agrees on real images") {
  check_shipped("lenet");
}
TEST_CASE("exported BN-LeNet: checked, and OpenCV agrees on real images") {
  check_shipped("bn-lenet");
}
TEST_CASE("exported small CNN: checked, and OpenCV agrees on real images") {
  check_shipped("small-cnn");
}
TEST_CASE("exported AlexNet: checked, and OpenCV agrees on real images") {
  DLX_SKIP_LARGE_UNDER_ASAN();
  check_shipped("alexnet");
}
TEST_CASE("exported AlexNet (2012, LRN and groups): checked, and OpenCV agrees on real images") {
  DLX_SKIP_LARGE_UNDER_ASAN();
  check_shipped("alexnet-2012");
}
TEST_CASE("exported AlexNet (torchvision): checked, and OpenCV agrees on real images") {
  DLX_SKIP_LARGE_UNDER_ASAN();
  check_shipped("alexnet-torchvision");
}
TEST_CASE("exported narrow VGG-11: checked, and OpenCV agrees on real images") {
  DLX_SKIP_LARGE_UNDER_ASAN();
  check_shipped("vgg11-narrow");
}
TEST_CASE("exported VGG-11: checked, and OpenCV agrees on real images") {
  DLX_SKIP_LARGE_UNDER_ASAN();
  check_shipped("vgg11");
}
TEST_CASE("exported NiN: checked, and OpenCV agrees on real images") {
  DLX_SKIP_LARGE_UNDER_ASAN();
  check_shipped("nin");
}
TEST_CASE("exported GoogLeNet: checked, and OpenCV agrees on real images") {
  check_shipped("googlenet");
}
TEST_CASE("exported ResNet-18: checked, and OpenCV agrees on real images") {
  check_shipped("resnet18");
}
TEST_CASE("exported DenseNet: checked, and OpenCV agrees on real images") {
  check_shipped("densenet");
}

TEST_CASE("dlx export of a trained run: OpenCV predicts what dlx predict does on image files") {
  if (!std::filesystem::exists(kFashion)) DLX_SKIP("dataset-fashion-mnist is not installed");
  std::string out;
  if (testing::run_command("/usr/bin/python3 -c 'import onnx, PIL'", out) != 0)
    DLX_SKIP("no python3 with onnx and PIL (python3-onnx, python3-pil)");
  testing::TempDir dir;
  const std::string run = (dir.path() / "run").string();
  // BN-LeNet, one epoch on 1,000 images, normalised: batch norm statistics and a normalisation.
  REQUIRE(testing::run_dlx(
              "run " +
                  (testing::source_dir() / "experiments" / "bn-lenet-fashion-mnist.yaml").string() +
                  " --set train.epochs=1 --set data.train_limit=1000 "
                  "--set data.normalize=auto --folder " +
                  run,
              out) == 0);
  const std::string model = (dir.path() / "bn-lenet.onnx").string();
  // The folder as a shell's completion gives it, with a trailing slash.
  REQUIRE(testing::run_dlx("export " + run + "/ " + model + " --probabilities", out) == 0);
  CHECK(out.find("ONNX's checker accepts it") != std::string::npos);
  CHECK(
      testing::run_command("/usr/bin/python3 -c \"import onnx, sys; "
                           "m = {p.key: p.value for p in onnx.load(sys.argv[1]).metadata_props}; "
                           "sys.exit(m['dlx_run'] != 'run' or m['dlx_status'] != 'completed')\" " +
                               model,
                           out) == 0);
  // Twelve real test images as PNG files, as a user would have them.
  std::string files;
  for (int i = 0; i < 12; ++i)
    files += " " + (dir.path() / ("t" + std::to_string(i) + ".png")).string();
  REQUIRE(
      testing::run_command("/usr/bin/python3 -c \"import gzip, sys; from PIL import Image; "
                           "d = gzip.open('" +
                               std::string(kFashion) +
                               "/t10k-images-idx3-ubyte.gz').read()[16:]; "
                               "[Image.frombytes('L', (28, 28), d[i * 784:(i + 1) * 784]).save(f) "
                               "for i, f in enumerate(sys.argv[1:])]\"" +
                               files,
                           out) == 0);
  REQUIRE(testing::run_dlx("predict " + run + " --files" + files, out) == 0);
  write_file_atomic(dir.path() / "predicted.txt", out);
  const int code = testing::run_command(
      "/usr/bin/python3 " + (testing::source_dir() / "tests/export/predict_check.py").string() +
          " " + model + " " + (dir.path() / "predicted.txt").string() + files,
      out);
  MESSAGE(out);
  if (code == 77) DLX_SKIP("OpenCV (python3-opencv) is not installed");
  CHECK(code == 0);
}
