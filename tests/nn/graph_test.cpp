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

namespace {

std::vector<std::string> state_keys(const nn::Network& net) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : net.state()) keys.push_back(key);
  return keys;
}

}  // namespace

TEST_CASE("numbered groups, inline parallels and bare parameters give PyTorch's state_dict keys") {
  testing::TempDir dir;
  nn::Network net = build_text(dir, R"(input: [4, 8, 8]
blocks:
  conv_bn:
    numbered: true
    args: {out: required}
    layers: [conv2d: {out_channels: $out, kernel_size: 3, padding: 1, bias: false}, batchnorm2d, relu]
  unit:
    layers:
      - parallel:
          inline: true
          branches:
            - [conv_bn: {name: a, out: 4}, conv2d: {name: b, out_channels: 4, kernel_size: 1}, layer_scale: {name: gamma}]
            - [sequential: {name: downsample, numbered: true, layers: [relu, conv2d: {out_channels: 4, kernel_size: 1}]}]
      - relu
layers:
  - sequential: {name: features, numbered: true, layers: [relu, unit, unit]}
)");
  const auto keys = state_keys(net);
  CHECK(keys == std::vector<std::string>{"features.1.a.0.weight",
                                         "features.1.a.1.weight",
                                         "features.1.a.1.bias",
                                         "features.1.a.1.running_mean",
                                         "features.1.a.1.running_var",
                                         "features.1.a.1.num_batches_tracked",
                                         "features.1.b.weight",
                                         "features.1.b.bias",
                                         "features.1.gamma",
                                         "features.1.downsample.1.weight",
                                         "features.1.downsample.1.bias",
                                         "features.2.a.0.weight",
                                         "features.2.a.1.weight",
                                         "features.2.a.1.bias",
                                         "features.2.a.1.running_mean",
                                         "features.2.a.1.running_var",
                                         "features.2.a.1.num_batches_tracked",
                                         "features.2.b.weight",
                                         "features.2.b.bias",
                                         "features.2.gamma",
                                         "features.2.downsample.1.weight",
                                         "features.2.downsample.1.bias"});
  // The same tensors as the modules hold, under other names.
  CHECK(net.state().size() ==
        net.body->named_parameters().size() + net.body->named_buffers().size());
  CHECK(net.state()[0].second.is_same(
      net.body->named_parameters()["features.1.parallel0.branch0.a.0.weight"]));
}

TEST_CASE("merge: mul gates with broadcasting, and shapes that do not broadcast are one line") {
  testing::TempDir dir;
  nn::Network net = build_text(dir, R"(input: [6, 5, 5]
layers:
  - parallel:
      merge: mul
      branches:
        - []
        - [adaptive_avgpool2d: {output_size: 1}, conv2d: {out_channels: 6, kernel_size: 1}, sigmoid]
)");
  CHECK(net.output() == nn::Shape{6, 5, 5});
  const at::Tensor x = at::randn({2, 6, 5, 5});
  torch::NoGradGuard no_grad;
  const at::Tensor gate = net.body->forward(x) / x;
  // One factor per example and channel, in (0, 1).
  CHECK((gate.amax({2, 3}) - gate.amin({2, 3})).abs().max().item<double>() < 1e-5);
  CHECK(
      testing::config_error([&] {
        build_text(dir, R"(input: [6, 5, 5]
layers:
  - parallel: {merge: mul, branches: [[], [conv2d: {out_channels: 4, kernel_size: 1}]]}
)");
      })
          .find("mul needs shapes that broadcast (each size equal or 1), but branch 0 gives (1, 6, "
                "5, 5) and branch 1 gives (1, 4, 5, 5)") != std::string::npos);
}

TEST_CASE("a variant gives its family's args; ${} computes; a repeat's index names its layers") {
  testing::TempDir dir;
  dir.write("_family.yaml", R"(name: family
input: [3, 8, 8]
args: {width: required, blocks: 2, num_classes: 1000}
blocks:
  unit:
    args: {i: required, out: required}
    layers: [conv2d: {name: 'conv${i + 1}', out_channels: $out, kernel_size: 3, padding: 1}]
layers:
  - sequential:
      name: stage
      layers: [repeat: {times: $blocks, index: i, layers: [unit: {name: 'block-${i}', i: $i, out: '${width * 2}'}]}]
  - dense: {name: fc, units: $num_classes}
)");
  const auto variant =
      dir.write("small.yaml", "base: _family.yaml\nname: small\nargs: {width: 3}\n");
  CHECK(config::is_model_file(variant));
  config::ModelSpec spec = config::load_model(variant);
  CHECK(spec.name == "small");
  nn::Network net = nn::build_network(spec, spec.input);
  CHECK(state_keys(net) ==
        std::vector<std::string>{"stage.block-0.conv1.weight", "stage.block-0.conv1.bias",
                                 "stage.block-1.conv2.weight", "stage.block-1.conv2.bias",
                                 "fc.weight", "fc.bias"});
  CHECK(net.output() == nn::Shape{1000});
  CHECK(net.layers[1].output == nn::Shape{6, 8, 8});
  // --set reaches the args; a required one left out, or a name no one declares, is one line.
  nn::Network wider = nn::build_network(
      config::load_model(variant, {{"args.blocks", "3", "args.blocks=3"}}), spec.input);
  CHECK(state_keys(wider).size() == 8);
  CHECK(testing::config_error([&] {
          nn::build_network(config::load_model(dir.path() / "_family.yaml"), {3, 8, 8});
        }).find("args.width: expected a value (the model requires it") != std::string::npos);
  CHECK(testing::config_error([&] {
          build_text(dir, "input: [3, 4, 4]\nargs: {w: 2}\nlayers: [dense: {units: '${w * x}'}]\n");
        }).find("(no value named x)") != std::string::npos);
  // An experiment's inline model with base: the family file with the experiment's keys over it.
  const auto experiment = dir.write("exp.yaml", R"(model:
  base: _family.yaml
  args: {width: 2, blocks: 1}
  weights: {file: w.pt, new: [fc.*]}
data: {dataset: synthetic}
)");
  const config::ExperimentSpec exp = config::load_experiment(experiment);
  CHECK(exp.model.weights.file == "w.pt");
  CHECK(exp.model.weights.fresh == std::vector<std::string>{"fc.*"});
  CHECK(state_keys(nn::build_network(exp.model, {3, 8, 8})).size() == 4);
  CHECK(testing::config_error([&] {
          config::load_experiment(
              dir.write("typo.yaml", "model: {base: _family.yaml, args: {widht: 2}}\n"));
        }).find("typo.yaml:1:36: error: model.args.widht: expected one of the family's args") !=
        std::string::npos);
}
