// Models as graphs: blocks with arguments, parallel branches (added or concatenated), repeat and
// named groups build the network they describe, with shapes, parameter counts and checkpoint
// keys as PyTorch's nesting gives them.
#include <doctest/doctest.h>

#include <ATen/ops/randn.h>

#include "framework/nn/builder.h"
#include "framework/train/optim.h"
#include "tests/helpers.h"

using namespace dlx;

namespace {

nn::Network build_text(const testing::TempDir& dir, const std::string& yaml) {
  config::ModelSpec spec = config::load_model(dir.write("m.yaml", yaml));
  return nn::build_network(spec, spec.input);
}

std::vector<std::string> keys_of(nn::Network& net) {
  std::vector<std::string> keys;
  for (const auto& item : net.body->named_parameters()) keys.push_back(item.key());
  return keys;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST_CASE("d2l's ResNet-18 has d2l's block shapes and parameter count, and trains a step") {
  config::ModelSpec spec = config::load_model(testing::source_dir() / "models/resnet18.yaml");
  nn::Network net = nn::build_network(spec, spec.input);
  CHECK(net.parameters() == 11178378);  // PyTorch's count of d2l's ResNet-18 for 10 classes
  std::vector<std::string> top;
  for (const auto& l : net.layers)
    if (l.depth == 0) top.push_back(l.name + " " + nn::format_shape(l.output));
  CHECK(top == std::vector<std::string>{"b1 (1, 64, 24, 24)", "b2 (1, 64, 24, 24)",
                                        "b3 (1, 128, 12, 12)", "b4 (1, 256, 6, 6)",
                                        "b5 (1, 512, 3, 3)", "pool0 (1, 512, 1, 1)",
                                        "dense0 (1, 10)"});
  const auto keys = keys_of(net);
  CHECK(has(keys, "b2.residual0.parallel0.branch0.conv0.weight"));
  CHECK(has(keys, "b3.residual_down0.parallel0.branch1.conv0.weight"));
  at::Tensor y = net.body->forward(at::randn({2, 1, 96, 96}));
  CHECK(y.sizes().vec() == std::vector<int64_t>{2, 10});
  y.sum().backward();
  CHECK(net.body->named_parameters()["b1.conv0.weight"].grad().defined());
}

TEST_CASE("concat adds channels, [] is the identity, repeat continues the names") {
  testing::TempDir dir;
  nn::Network net = build_text(dir, R"(input: [3, 8, 8]
blocks:
  dense_layer:
    args: {growth: 4, k: 3}
    layers:
      - parallel:
          merge: concat
          branches:
            - []
            - [conv2d: {out_channels: $growth, kernel_size: $k, padding: 1}]
layers:
  - repeat: {times: 3, layers: [dense_layer: {growth: 5}]}
  - sequential: {name: tail, layers: [relu, conv2d: {out_channels: 2, kernel_size: 1}]}
)");
  CHECK(net.output() == nn::Shape{2, 8, 8});
  std::vector<std::string> top;
  for (const auto& l : net.layers)
    if (l.depth == 0) top.push_back(l.name + " " + nn::format_shape(l.output));
  CHECK(top == std::vector<std::string>{"dense_layer0 (1, 8, 8, 8)", "dense_layer1 (1, 13, 8, 8)",
                                        "dense_layer2 (1, 18, 8, 8)", "tail (1, 2, 8, 8)"});
  // Channels 3 -> 8 -> 13 -> 18: each conv sees all before it, as DenseNet's.
  CHECK(net.parameters() == (3 * 9 * 5 + 5) + (8 * 9 * 5 + 5) + (13 * 9 * 5 + 5) + (18 * 2 + 2));
  CHECK(has(keys_of(net), "dense_layer2.parallel0.branch1.conv0.weight"));
  at::Tensor x = at::randn({1, 3, 8, 8});
  CHECK(net.body->forward(x).sizes().vec() == std::vector<int64_t>{1, 2, 8, 8});
}

namespace {

// "name (1, C, H, W)" for each top-level entry, as `dlx shapes` prints them first.
std::vector<std::string> top_level_shapes(const std::string& model) {
  config::ModelSpec spec = config::load_model(testing::source_dir() / "models" / (model + ".yaml"));
  nn::Network net = nn::build_network(spec, spec.input);
  std::vector<std::string> top;
  for (const auto& l : net.layers)
    if (l.depth == 0) top.push_back(l.name + " " + nn::format_shape(l.output));
  return top;
}

}  // namespace

// The block output shapes d2l's chapter prints (shared/reference/d2l-modern-cnns.md).
TEST_CASE("the chapter's networks in models/ print d2l's block shapes") {
  using V = std::vector<std::string>;
  CHECK(top_level_shapes("vgg11") ==
        V{"vgg_block0 (1, 64, 112, 112)", "vgg_block1 (1, 128, 56, 56)",
          "vgg_block2 (1, 256, 28, 28)", "vgg_block3 (1, 512, 14, 14)", "vgg_block4 (1, 512, 7, 7)",
          "flatten0 (1, 25088)", "dense0 (1, 4096)", "dropout0 (1, 4096)", "dense1 (1, 4096)",
          "dropout1 (1, 4096)", "dense2 (1, 10)"});
  CHECK(top_level_shapes("vgg11-narrow")[4] == "vgg_block4 (1, 128, 7, 7)");
  CHECK(top_level_shapes("nin") == V{"nin_block0 (1, 96, 54, 54)", "pool0 (1, 96, 26, 26)",
                                     "nin_block1 (1, 256, 26, 26)", "pool1 (1, 256, 12, 12)",
                                     "nin_block2 (1, 384, 12, 12)", "pool2 (1, 384, 5, 5)",
                                     "dropout0 (1, 384, 5, 5)", "nin_block3 (1, 10, 5, 5)",
                                     "pool3 (1, 10, 1, 1)", "flatten0 (1, 10)"});
  CHECK(top_level_shapes("googlenet") == V{"b1 (1, 64, 24, 24)", "b2 (1, 192, 12, 12)",
                                           "b3 (1, 480, 6, 6)", "b4 (1, 832, 3, 3)", "b5 (1, 1024)",
                                           "dense0 (1, 10)"});
  const V bn_lenet = top_level_shapes("bn-lenet");
  CHECK(bn_lenet[0] == "conv0 (1, 6, 24, 24)");
  CHECK(bn_lenet[8] == "flatten0 (1, 256)");
  CHECK(bn_lenet[10] == "batchnorm2 (1, 120)");
  CHECK(top_level_shapes("densenet") ==
        V{"b1 (1, 64, 24, 24)", "dense_blk1 (1, 192, 24, 24)", "tran_blk1 (1, 96, 12, 12)",
          "dense_blk2 (1, 224, 12, 12)", "tran_blk2 (1, 112, 6, 6)", "dense_blk3 (1, 240, 6, 6)",
          "tran_blk3 (1, 120, 3, 3)", "dense_blk4 (1, 248, 3, 3)", "last (1, 10)"});
}

TEST_CASE("train.init reaches the layers inside groups, blocks and branches") {
  config::ModelSpec spec = config::load_model(testing::source_dir() / "models/resnet18.yaml");
  nn::Network net = nn::build_network(spec, spec.input);
  auto weight = [&] {
    return net.body->named_parameters()["b2.residual0.parallel0.branch0.conv0.weight"];
  };
  // 64 -> 64 channels, 3x3: PyTorch's default bound is 1/sqrt(576) = 0.042, Xavier's
  // sqrt(6 / (576 + 576)) = 0.072.
  CHECK(weight().abs().max().item<double>() <= 1 / std::sqrt(576.0) + 1e-6);
  train::init_weights(net, config::InitKind::kXavierUniform);
  const double largest = weight().abs().max().item<double>();
  CHECK(largest > 0.06);
  CHECK(largest <= std::sqrt(6.0 / 1152) + 1e-6);
}
