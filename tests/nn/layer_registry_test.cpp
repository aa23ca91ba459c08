#include <doctest/doctest.h>

#include <ATen/ops/rand.h>
#include <c10/core/InferenceMode.h>

#include "framework/nn/builder.h"
#include "tests/helpers.h"

using namespace dlx;

namespace {

// The shape a real forward pass gives, batch removed.
nn::Shape forward_shape(nn::Network& net, int64_t batch = 2) {
  c10::InferenceMode guard;
  net.body->eval();
  std::vector<int64_t> sizes{batch};
  sizes.insert(sizes.end(), net.input.begin(), net.input.end());
  at::Tensor out = net.body->forward(at::rand(sizes));
  return nn::Shape(out.sizes().begin() + 1, out.sizes().end());
}

}  // namespace

TEST_CASE("the registry holds exactly the built-in layers, in order") {
  CHECK(nn::builtin_layers().names() == std::vector<std::string>{"conv2d",
                                                                 "maxpool2d",
                                                                 "avgpool2d",
                                                                 "adaptive_avgpool2d",
                                                                 "local_response_norm",
                                                                 "batchnorm2d",
                                                                 "batchnorm1d",
                                                                 "dropout",
                                                                 "flatten",
                                                                 "dense",
                                                                 "relu",
                                                                 "sigmoid",
                                                                 "tanh",
                                                                 "gelu",
                                                                 "leaky_relu",
                                                                 "silu",
                                                                 "hardswish",
                                                                 "hardsigmoid",
                                                                 "relu6",
                                                                 "layernorm",
                                                                 "groupnorm",
                                                                 "stochastic_depth",
                                                                 "layer_scale",
                                                                 "channel_shuffle",
                                                                 "channel_split",
                                                                 "permute",
                                                                 "tokens",
                                                                 "class_token",
                                                                 "position_embedding",
                                                                 "multihead_attention",
                                                                 "select_token",
                                                                 "window_attention",
                                                                 "patch_merge",
                                                                 "partition",
                                                                 "departition",
                                                                 "relative_attention"});
}

TEST_CASE("every layer's inferred shape and parameter count match LibTorch's") {
  struct Case {
    std::string item;
    nn::Shape input, output;
    int64_t parameters;
  };
  std::vector<Case> cases{
      {"conv2d: {out_channels: 96, kernel_size: 11, stride: 4}",
       {1, 224, 224},
       {96, 54, 54},
       11712},
      {"conv2d: {out_channels: 8, kernel_size: [3, 5], padding: [1, 2], bias: false}",
       {3, 10, 12},
       {8, 10, 12},
       360},
      {"conv2d: {out_channels: 4, kernel_size: 3, padding: same, dilation: 2}",
       {2, 9, 9},
       {4, 9, 9},
       76},
      {"conv2d: {out_channels: 4, kernel_size: 3, padding: valid, activation: tanh}",
       {2, 9, 9},
       {4, 7, 7},
       76},
      {"conv2d: {out_channels: 8, kernel_size: 3, groups: 2, stride: 2}",
       {4, 9, 9},
       {8, 4, 4},
       152},
      {"maxpool2d: {kernel_size: 3, stride: 2}", {96, 54, 54}, {96, 26, 26}, 0},
      {"maxpool2d: {kernel_size: 2}", {3, 7, 7}, {3, 3, 3}, 0},
      {"maxpool2d: {kernel_size: 2, ceil_mode: true}", {3, 7, 7}, {3, 4, 4}, 0},
      {"maxpool2d: {kernel_size: 3, padding: 1, dilation: 2}", {3, 9, 9}, {3, 3, 3}, 0},
      {"avgpool2d: {kernel_size: 2, stride: 2}", {6, 28, 28}, {6, 14, 14}, 0},
      {"avgpool2d: {kernel_size: 3, stride: 1, padding: 1}", {6, 5, 5}, {6, 5, 5}, 0},
      {"adaptive_avgpool2d: {output_size: [6, 4]}", {256, 13, 13}, {256, 6, 4}, 0},
      {"local_response_norm: {size: 5}", {96, 13, 13}, {96, 13, 13}, 0},
      {"batchnorm2d", {16, 5, 5}, {16, 5, 5}, 32},
      {"batchnorm2d: {affine: false}", {16, 5, 5}, {16, 5, 5}, 0},
      {"batchnorm1d", {120}, {120}, 240},
      {"dropout: {p: 0.3}", {4096}, {4096}, 0},
      {"flatten", {16, 5, 5}, {400}, 0},
      {"dense: {units: 120, activation: sigmoid}", {16, 5, 5}, {120}, 48120},
      {"dense: {units: 10, bias: false}", {84}, {10}, 840},
      {"relu", {3, 4, 4}, {3, 4, 4}, 0},
      {"sigmoid", {7}, {7}, 0},
      {"tanh", {7}, {7}, 0},
      {"gelu", {7}, {7}, 0},
      {"leaky_relu: {negative_slope: 0.2}", {7}, {7}, 0},
      {"silu", {7}, {7}, 0},
      {"hardswish", {3, 4, 4}, {3, 4, 4}, 0},
      {"hardsigmoid", {7}, {7}, 0},
      {"relu6", {7}, {7}, 0},
      {"layernorm: {eps: 1e-6}", {16, 5, 5}, {16, 5, 5}, 32},
      {"layernorm", {10, 8}, {10, 8}, 16},
      {"layernorm: {over: last, affine: false}", {5, 7, 16}, {5, 7, 16}, 0},
      {"groupnorm: {groups: 4}", {16, 5, 5}, {16, 5, 5}, 32},
      {"stochastic_depth: {p: 0.2}", {16, 5, 5}, {16, 5, 5}, 0},
      {"layer_scale", {16, 5, 5}, {16, 5, 5}, 16},
      {"layer_scale: {init: 0.1}", {10, 8}, {10, 8}, 8},
      {"channel_shuffle: {groups: 2}", {16, 5, 5}, {16, 5, 5}, 0},
      {"channel_split: {index: 1}", {16, 5, 5}, {8, 5, 5}, 0},
      {"permute: {dims: [1, 2, 0]}", {16, 5, 7}, {5, 7, 16}, 0},
      {"tokens", {16, 5, 7}, {35, 16}, 0},
      {"class_token", {35, 16}, {36, 16}, 16},
      {"position_embedding", {36, 16}, {36, 16}, 576},
      {"multihead_attention: {heads: 4}", {36, 16}, {36, 16}, 1088},
      {"select_token", {36, 16}, {16}, 0},
      {"dense: {units: 8}", {36, 16}, {36, 8}, 136},
      // qkv 16 x 48 + 48, proj 16 x 16 + 16, a (2 * 3 - 1)^2 x 4 table; V2: logit scales and
      // the 2-512-heads MLP instead of the table.
      {"window_attention: {heads: 4, window: 3, shift: 1}", {5, 7, 16}, {5, 7, 16}, 1188},
      {"window_attention: {heads: 2, window: 4, cosine: true}", {5, 7, 16}, {5, 7, 16}, 3650},
      {"patch_merge", {5, 7, 16}, {3, 4, 64}, 0},
      {"dense: {units: 8, flatten: false}", {5, 7, 16}, {5, 7, 8}, 136},
      {"partition: {type: window, size: 3}", {16, 6, 9}, {2, 3, 9, 16}, 0},
      {"partition: {type: grid, size: 3}", {16, 6, 9}, {2, 3, 9, 16}, 0},
      {"departition: {type: grid}", {2, 3, 9, 16}, {16, 6, 9}, 0},
      // to_qkv 16 x 48 + 48, merge 16 x 16 + 16, a (2 * 3 - 1)^2 x 4 table.
      {"relative_attention: {head_dim: 4}", {2, 3, 9, 16}, {2, 3, 9, 16}, 1188},
      {"relative_attention: {head_dim: 8}", {9, 16}, {9, 16}, 1138},
  };
  for (const auto& c : cases) {
    CAPTURE(c.item);
    nn::Network net = testing::one_layer(c.item, c.input);
    CHECK(net.output() == c.output);
    CHECK(forward_shape(net) == c.output);
    CHECK(net.parameters() == c.parameters);
  }
}

TEST_CASE("layers are named per kind as in the chapter, and name: overrides") {
  testing::TempDir dir;
  auto file = dir.write("m.yaml", R"(layers:
  - conv2d: {out_channels: 4, kernel_size: 3}
  - maxpool2d: {kernel_size: 2}
  - conv2d: {out_channels: 4, kernel_size: 3, name: features}
  - avgpool2d: {kernel_size: 2}
  - dense: {units: 10}
)");
  nn::Network net = nn::build_network(config::load_model(file), {1, 16, 16});
  std::vector<std::string> names;
  for (const auto& l : net.layers) names.push_back(l.name);
  CHECK(names == std::vector<std::string>{"conv0", "pool0", "features", "pool1", "dense0"});
  std::vector<std::string> keys;
  for (const auto& p : net.body->named_parameters()) keys.push_back(p.key());
  CHECK(keys == std::vector<std::string>{"conv0.weight", "conv0.bias", "features.weight",
                                         "features.bias", "dense0.weight", "dense0.bias"});
}

TEST_CASE("activation: on conv2d and dense is applied inside the layer") {
  nn::Network net = testing::one_layer("dense: {units: 5, activation: relu}", {3});
  c10::InferenceMode guard;
  at::Tensor out = net.body->forward(at::rand({64, 3}) - 0.5);
  CHECK(out.min().item<float>() >= 0.0f);
  nn::Network sig = testing::one_layer(
      "conv2d: {out_channels: 2, kernel_size: 1, activation: sigmoid}", {1, 3, 3});
  at::Tensor s = sig.body->forward(at::rand({4, 1, 3, 3}) * 100 - 50);
  CHECK(s.min().item<float>() >= 0.0f);
  CHECK(s.max().item<float>() <= 1.0f);
}

namespace {
std::string shape_error_of(const std::string& model, const nn::Shape& input) {
  testing::TempDir dir;
  auto file = dir.write("m.yaml", model);
  std::string message =
      testing::config_error([&] { nn::build_network(config::load_model(file), input); });
  return message.substr(message.find("error: "));
}
}  // namespace

// A model file on its own: keys are named from the file's top (layers[0]), not model.layers[0].
TEST_CASE("a shape that cannot work names the layer and both shapes, before any training") {
  CHECK(shape_error_of("layers:\n  - maxpool2d: {kernel_size: 3}\n", {1, 2, 2}) ==
        "error: layers[0]: pool0: window 3x3 does not fit the padded input 2x2 (input "
        "(1, 1, 2, 2), output would be (1, 1, 0, 0))");
  CHECK(shape_error_of("layers:\n  - conv2d: {out_channels: 4, kernel_size: 3, groups: 4}\n",
                       {6, 8, 8}) ==
        "error: layers[0]: conv0: groups 4 must divide both the input's 6 channels and "
        "out_channels 4 (input (1, 6, 8, 8))");
  CHECK(shape_error_of(
            "layers:\n  - dense: {units: 10}\n  - conv2d: {out_channels: 4, kernel_size: 3}\n",
            {1, 8, 8}) ==
        "error: layers[1]: conv0: conv2d needs an image input (N, C, H, W), but the input is "
        "not one (input (1, 10))");
  CHECK(
      shape_error_of("layers:\n  - avgpool2d: {kernel_size: 2, padding: 2}\n", {1, 8, 8}) ==
      "error: layers[0]: pool0: padding 2x2 is more than half the window 2x2 (input (1, 1, 8, 8))");
  CHECK(
      shape_error_of(
          "layers:\n  - conv2d: {out_channels: 4, kernel_size: 3, stride: 2, padding: same}\n",
          {1, 8, 8}) ==
      "error: layers[0]: conv0: padding 'same' needs stride 1, as in PyTorch (input (1, 1, 8, 8))");
}

TEST_CASE("two layers may not share a name") {
  std::string message = shape_error_of(
      "layers:\n  - dense: {units: 4, name: head}\n  - dense: {units: 4, name: head}\n", {3});
  CHECK(message ==
        "error: layers[1].dense.name: expected a unique name of letters, digits, '_' "
        "or '-', found 'head', already used by layers[0]");
}

TEST_CASE("dlx layers lists each layer's keys with defaults") {
  const nn::LayerType* conv = nn::builtin_layers().find("conv2d");
  REQUIRE(conv);
  auto keys = conv->keys();
  REQUIRE(keys.size() == 9);
  CHECK(keys[0].key == "out_channels");
  CHECK(keys[0].default_value == "required");
  CHECK(keys[2].key == "stride");
  CHECK(keys[2].default_value == "1");
  CHECK(keys[7].default_value == "\"none\"");
  CHECK(keys[8].key == "patches");
}
