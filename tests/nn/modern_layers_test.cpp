// The layers of today's networks against LibTorch's own modules and functions (with the same
// weights): layer norm over the last dimension and over an image's channels, group norm, the new
// activations, channel shuffle and split, self-attention against nn::MultiheadAttention, and
// stochastic depth's training-mode rule.
#include <doctest/doctest.h>

#include <ATen/ops/rand.h>
#include <ATen/ops/randn.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/normalization.h>

#include "framework/nn/builder.h"
#include "framework/nn/modules.h"
#include "tests/helpers.h"

using namespace dlx;

namespace {

at::Tensor run(nn::Network& net, const at::Tensor& x) {
  torch::NoGradGuard no_grad;
  net.body->eval();
  return net.body->forward(x);
}

void check_close(const at::Tensor& a, const at::Tensor& b, double tol = 1e-5) {
  REQUIRE(a.sizes() == b.sizes());
  CHECK((a - b).abs().max().item<double>() <= tol);
}

// The named parameter of the network's only layer.
at::Tensor param(nn::Network& net, const std::string& name) {
  for (const auto& [key, value] : net.state())
    if (key == name) return value;
  FAIL("no " << name);
  return {};
}

}  // namespace

TEST_CASE("layernorm over the last dimension is torch::nn::LayerNorm") {
  torch::manual_seed(1);
  nn::Network net = testing::one_layer("layernorm: {eps: 1e-6, name: ln}", {10, 8});
  torch::NoGradGuard no_grad;
  param(net, "ln.weight").uniform_(0.5, 1.5);
  param(net, "ln.bias").uniform_(-1, 1);
  torch::nn::LayerNorm theirs(torch::nn::LayerNormOptions({8}).eps(1e-6));
  theirs->weight.copy_(param(net, "ln.weight"));
  theirs->bias.copy_(param(net, "ln.bias"));
  const at::Tensor x = at::randn({3, 10, 8});
  check_close(run(net, x), theirs->forward(x));
}

TEST_CASE("layernorm over an image's channels normalises each pixel's channels (LayerNorm2d)") {
  torch::manual_seed(2);
  nn::Network net = testing::one_layer("layernorm: {name: ln}", {6, 4, 5});
  torch::NoGradGuard no_grad;
  param(net, "ln.weight").uniform_(0.5, 1.5);
  torch::nn::LayerNorm theirs(torch::nn::LayerNormOptions({6}));
  theirs->weight.copy_(param(net, "ln.weight"));
  const at::Tensor x = at::randn({2, 6, 4, 5});
  check_close(run(net, x), theirs->forward(x.permute({0, 2, 3, 1})).permute({0, 3, 1, 2}));
}

TEST_CASE("groupnorm is torch::nn::GroupNorm") {
  torch::manual_seed(3);
  nn::Network net = testing::one_layer("groupnorm: {groups: 3, name: gn}", {6, 4, 5});
  torch::NoGradGuard no_grad;
  param(net, "gn.weight").uniform_(0.5, 1.5);
  torch::nn::GroupNorm theirs(torch::nn::GroupNormOptions(3, 6));
  theirs->weight.copy_(param(net, "gn.weight"));
  const at::Tensor x = at::randn({2, 6, 4, 5});
  check_close(run(net, x), theirs->forward(x));
}

TEST_CASE("silu, hardswish, hardsigmoid and relu6 are LibTorch's, as layers and as activation:") {
  const at::Tensor x = at::linspace(-8, 8, 161).view({1, 161});
  const std::vector<std::pair<std::string, at::Tensor>> cases{
      {"silu", torch::nn::SiLU()->forward(x)},
      {"hardswish", torch::hardswish(x)},
      {"hardsigmoid", torch::hardsigmoid(x)},
      {"relu6", torch::nn::ReLU6()->forward(x)},
  };
  for (const auto& [type, expected] : cases) {
    CAPTURE(type);
    nn::Network layer = testing::one_layer(type, {161});
    check_close(run(layer, x), expected);
    nn::Network dense = testing::one_layer("dense: {units: 161, activation: " + type + "}", {161});
    {
      torch::NoGradGuard no_grad;
      param(dense, "dense0.weight").copy_(at::eye(161));
      param(dense, "dense0.bias").zero_();
    }
    check_close(run(dense, x), expected);
  }
  // relu6 saturates at 6 (x = 8 is the last point), hardsigmoid at 1.
  CHECK(torch::nn::ReLU6()->forward(x)[0][160].item<double>() == 6.0);
}

TEST_CASE("channel_shuffle is ATen's channel_shuffle; channel_split takes one equal slice") {
  const at::Tensor x = at::arange(2 * 12 * 3 * 3, at::kFloat).view({2, 12, 3, 3});
  nn::Network shuffle = testing::one_layer("channel_shuffle: {groups: 3}", {12, 3, 3});
  check_close(run(shuffle, x), at::channel_shuffle(x, 3), 0);
  nn::Network split = testing::one_layer("channel_split: {parts: 2, index: 1}", {12, 3, 3});
  check_close(run(split, x), x.narrow(1, 6, 6), 0);
}

TEST_CASE("multihead_attention is torch::nn::MultiheadAttention with the same parameters") {
  torch::manual_seed(4);
  nn::Network net = testing::one_layer("multihead_attention: {heads: 4, name: attn}", {7, 16});
  torch::nn::MultiheadAttention theirs(torch::nn::MultiheadAttentionOptions(16, 4));
  {
    torch::NoGradGuard no_grad;
    param(net, "attn.in_proj_bias").uniform_(-0.5, 0.5);
    param(net, "attn.out_proj.bias").uniform_(-0.5, 0.5);
    theirs->in_proj_weight.copy_(param(net, "attn.in_proj_weight"));
    theirs->in_proj_bias.copy_(param(net, "attn.in_proj_bias"));
    theirs->out_proj->weight.copy_(param(net, "attn.out_proj.weight"));
    theirs->out_proj->bias.copy_(param(net, "attn.out_proj.bias"));
  }
  theirs->eval();
  const at::Tensor x = at::randn({3, 7, 16});
  // LibTorch's module takes (tokens, batch, width).
  const at::Tensor t = x.transpose(0, 1);
  at::Tensor expected;
  {
    torch::NoGradGuard no_grad;
    expected = std::get<0>(theirs->forward(t, t, t)).transpose(0, 1);
  }
  check_close(run(net, x), expected);
}

TEST_CASE("stochastic_depth is the identity in evaluation and drops whole rows in training") {
  torch::manual_seed(5);
  nn::Network net = testing::one_layer("stochastic_depth: {p: 0.5}", {4, 3, 3});
  const at::Tensor x = at::rand({64, 4, 3, 3}) + 1;
  check_close(run(net, x), x, 0);
  net.body->train();
  at::Tensor y;
  {
    torch::NoGradGuard no_grad;
    y = net.body->forward(x);
  }
  // Each example is either all zero or all doubled (1 / (1 - p)); both happen.
  const at::Tensor ratio = (y / x).view({64, -1});
  const at::Tensor row_min = std::get<0>(ratio.min(1)), row_max = std::get<0>(ratio.max(1));
  CHECK(at::equal(row_min, row_max));
  CHECK(((row_min == 0) | (row_min == 2)).all().item<bool>());
  CHECK(row_min.eq(0).any().item<bool>());
  CHECK(row_min.eq(2).any().item<bool>());
}

TEST_CASE("tokens, class_token, position_embedding and select_token move the right numbers") {
  torch::manual_seed(6);
  testing::TempDir dir;
  auto file = dir.write("m.yaml", R"(layers:
  - tokens
  - class_token: {name: class_token}
  - position_embedding: {name: pos}
  - select_token: {index: 2}
)");
  nn::Network net = nn::build_network(config::load_model(file), {3, 2, 2});
  const at::Tensor x = at::rand({2, 3, 2, 2});
  // Token 2 is pixel 1 (row 0, column 1) after the class token, plus its embedding.
  const at::Tensor expected = x.select(3, 1).select(2, 0) + param(net, "pos").select(1, 2);
  check_close(run(net, x), expected);
  CHECK(param(net, "class_token").sizes() == at::IntArrayRef{1, 1, 3});
  CHECK(param(net, "pos").sizes() == at::IntArrayRef{1, 5, 3});
}

TEST_CASE("layernorm runs under bf16 autocast and stays close to float32") {
  torch::manual_seed(7);
  nn::Network net = testing::one_layer("layernorm: {name: ln}", {6, 4, 5});
  const at::Tensor x = at::randn({2, 6, 4, 5});
  const at::Tensor reference = run(net, x);
  net.precision = config::PrecisionKind::kBf16;
  at::Tensor mixed;
  {
    torch::NoGradGuard no_grad;
    mixed = net.forward(x);  // float32 logits from a bf16 forward pass
  }
  check_close(mixed, reference, 0.05);
}

TEST_CASE(
    "partition puts MaxViT's windows and grid cells where torchvision's do; departition undoes "
    "it") {
  const at::Tensor x = at::rand({2, 3, 6, 9});  // partitions of 3: 2 rows and 3 columns of them
  for (const char* type : {"window", "grid"}) {
    CAPTURE(type);
    const std::string kind = type;
    nn::Network net = testing::one_layer("partition: {type: " + kind + ", size: 3}", {3, 6, 9});
    const at::Tensor parts = run(net, x);
    REQUIRE(parts.sizes() == at::IntArrayRef{2, 2, 3, 9, 3});
    // Partition (i, j), token (a, b): a block of neighbours, or pixels 2 rows and 3 columns apart.
    for (int64_t i : {0, 1})
      for (int64_t j : {0, 2})
        for (int64_t a : {0, 2})
          for (int64_t b : {1, 2}) {
            const int64_t y = kind == "window" ? i * 3 + a : a * 2 + i;
            const int64_t z = kind == "window" ? j * 3 + b : b * 3 + j;
            CHECK(at::equal(parts.select(1, i).select(1, j).select(1, a * 3 + b),
                            x.select(2, y).select(2, z)));
          }
    nn::Network back = testing::one_layer("departition: {type: " + kind + "}", {2, 3, 9, 3});
    CHECK(at::equal(run(back, parts), x));
  }
}
