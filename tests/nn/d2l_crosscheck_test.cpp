// The chapter's networks in models/ against the same networks built by PyTorch from d2l's own
// definitions (tests/nn/d2l_crosscheck.py): equal parameter counts, and equal logits for the same
// weights (dlx's, loaded in order) and the same input.
#include <doctest/doctest.h>

#include <ATen/core/Dict.h>
#include <ATen/ops/rand.h>
#include <torch/serialize.h>

#include "framework/core/files.h"
#include "framework/train/checkpoint.h"
#include "tests/helpers.h"

using namespace dlx;

namespace {

void check_against_pytorch(const std::string& model) {
  std::string out;
  if (testing::run_command("/usr/bin/python3 -c 'import torch'", out) != 0)
    DLX_SKIP("no python3 with torch (Debian's python3-torch)");
  torch::manual_seed(7);
  config::ModelSpec spec = config::load_model(testing::source_dir() / "models" / (model + ".yaml"));
  nn::Network net = nn::build_network(spec, spec.input);
  testing::make_weights_telling(net);
  std::vector<int64_t> sizes{2};
  sizes.insert(sizes.end(), net.input.begin(), net.input.end());
  at::Tensor x = at::rand(sizes);
  at::Tensor y;
  {
    torch::NoGradGuard no_grad;
    y = net.body->forward(x);
  }
  testing::TempDir dir;
  train::save_weights(dir.path() / "weights.pt", net);
  c10::Dict<std::string, at::Tensor> io;
  io.insert("input", x);
  io.insert("output", y);
  std::vector<char> bytes = torch::pickle_save(c10::IValue(io));
  write_file_atomic(dir.path() / "io.pt", std::string(bytes.data(), bytes.size()));
  const int code = testing::run_command(
      "/usr/bin/python3 " + (testing::source_dir() / "tests/nn/d2l_crosscheck.py").string() + " " +
          model + " " + (dir.path() / "weights.pt").string() + " " +
          (dir.path() / "io.pt").string(),
      out);
  MESSAGE(out);
  CHECK(code == 0);
  CHECK(out.find(model + ": " + std::to_string(net.parameters()) + " parameters") == 0);
}

}  // namespace

TEST_CASE("PyTorch's d2l LeNet agrees with models/lenet.yaml") {
  check_against_pytorch("lenet");
}
TEST_CASE("PyTorch's d2l AlexNet agrees with models/alexnet.yaml") {
  DLX_RELEASE_ONLY("its layers are checked by LeNet's and the graph tests");
  check_against_pytorch("alexnet");
}
// The networks at 224x224 (and DenseNet's many layers) spend their time in LibTorch's and
// PyTorch's forward passes; under ASan, LeNet, BN-LeNet and tests/nn/graph_test.cpp build the same
// constructs (groups, branches, blocks) through the same builder.
TEST_CASE("PyTorch's d2l VGG-11 agrees with models/vgg11.yaml") {
  // Its 515 MB of weights take minutes under ASan; the narrow VGG-11 below has the same layers.
  DLX_RELEASE_ONLY("its layers are checked by LeNet's and the graph tests");
  check_against_pytorch("vgg11");
}
TEST_CASE("PyTorch's d2l narrow VGG-11 agrees with models/vgg11-narrow.yaml") {
  DLX_RELEASE_ONLY("its layers are checked by LeNet's and the graph tests");
  check_against_pytorch("vgg11-narrow");
}
TEST_CASE("PyTorch's d2l NiN agrees with models/nin.yaml") {
  DLX_RELEASE_ONLY("its layers are checked by LeNet's and the graph tests");
  check_against_pytorch("nin");
}
TEST_CASE("PyTorch's d2l GoogLeNet agrees with models/googlenet.yaml") {
  DLX_RELEASE_ONLY("its layers are checked by LeNet's and the graph tests");
  check_against_pytorch("googlenet");
}
TEST_CASE("PyTorch's d2l BNLeNet agrees with models/bn-lenet.yaml") {
  check_against_pytorch("bn-lenet");
}
TEST_CASE("PyTorch's d2l ResNet-18 agrees with models/resnet18.yaml") {
  DLX_RELEASE_ONLY("its layers are checked by LeNet's and the graph tests");
  check_against_pytorch("resnet18");
}
TEST_CASE("PyTorch's d2l DenseNet agrees with models/densenet.yaml") {
  DLX_RELEASE_ONLY("its layers are checked by LeNet's and the graph tests");
  check_against_pytorch("densenet");
}
