// The layer types of today's networks (torchvision's zoo): more activations, layer and group
// norm, stochastic depth, layer scale, channel shuffle and split, permutes, and tokens with
// attention. Each checks its input's shape, infers its output and counts its multiply-adds.
#include <torch/nn/modules/normalization.h>
#include <torch/version.h>

#include <cmath>

#include "framework/nn/layer_kit.h"
#include "framework/nn/modules.h"

namespace dlx::nn {

// ---- the modules ----

LayerNormImpl::LayerNormImpl(int64_t features, double eps, bool channels, bool affine)
    : features_(features), eps_(eps), channels_(channels) {
  if (affine) {
    weight = register_parameter("weight", torch::ones({features}));
    bias = register_parameter("bias", torch::zeros({features}));
  }
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor& x) {
  // Under bf16 autocast the input is bf16 and the weights float32, which LibTorch 1.13's CPU
  // layer_norm refuses: normalise in float32 (as autocast does for layer_norm) and cast back.
  const bool mixed = weight.defined() && x.scalar_type() != weight.scalar_type();
  const torch::Tensor in = mixed ? x.to(weight.scalar_type()) : x;
  torch::Tensor out =
      channels_
          // ConvNeXt's LayerNorm2d: to channels-last, normalised, and back.
          ? torch::layer_norm(in.permute({0, 2, 3, 1}), {features_}, weight, bias, eps_)
                .permute({0, 3, 1, 2})
          : torch::layer_norm(in, {features_}, weight, bias, eps_);
  return mixed ? out.to(x.scalar_type()) : out;
}

torch::Tensor StochasticDepthImpl::forward(const torch::Tensor& x) {
  if (!is_training() || p_ == 0) return x;
  const double survival = 1.0 - p_;
  std::vector<int64_t> shape(size_t(x.dim()), 1);
  if (row_) shape[0] = x.size(0);
  // A uniform draw under the survival rate is a Bernoulli draw (bernoulli_ with its optional
  // generator trips GCC 12's maybe-uninitialized warning).
  torch::Tensor keep = (torch::rand(shape, x.options()) < survival).to(x.scalar_type());
  if (survival > 0) keep.div_(survival);
  return x * keep;
}

torch::Tensor ChannelShuffleImpl::forward(const torch::Tensor& x) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  return x.view({n, groups_, c / groups_, h, w}).transpose(1, 2).contiguous().view({n, c, h, w});
}

torch::Tensor PermuteImpl::forward(const torch::Tensor& x) {
  std::vector<int64_t> order{0};
  for (int64_t d : dims_) order.push_back(d + 1);
  return x.permute(order);
}

MultiheadAttentionImpl::MultiheadAttentionImpl(int64_t width, int64_t heads, double dropout,
                                               bool bias)
    : heads_(heads), dropout_(dropout) {
  // PyTorch's initialisation: Xavier-uniform projections, zero biases.
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * width, width}));
  torch::nn::init::xavier_uniform_(in_proj_weight);
  if (bias) in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * width}));
  out_proj = register_module("out_proj",
                             torch::nn::Linear(torch::nn::LinearOptions(width, width).bias(bias)));
  if (bias) torch::nn::init::zeros_(out_proj->bias);
}

torch::Tensor MultiheadAttentionImpl::forward(const torch::Tensor& x) {
  const int64_t n = x.size(0), t = x.size(1), d = x.size(2), hd = d / heads_;
  // (N, T, 3D) to three (N, heads, T, D / heads).
  auto qkv = torch::linear(x, in_proj_weight, in_proj_bias)
                 .view({n, t, 3, heads_, hd})
                 .permute({2, 0, 3, 1, 4});
  torch::Tensor q = qkv[0], k = qkv[1], v = qkv[2];
  const double p = is_training() ? dropout_ : 0.0;
#if TORCH_VERSION_MAJOR >= 2
  torch::Tensor out = at::scaled_dot_product_attention(q, k, v, {}, p);
#else
  torch::Tensor weights =
      torch::softmax(torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(hd)), -1);
  if (p > 0) weights = torch::dropout(weights, p, true);
  torch::Tensor out = torch::matmul(weights, v);
#endif
  return out_proj->forward(out.transpose(1, 2).reshape({n, t, d}));
}

namespace {

using config::at_least;
using config::Check;

std::string count(int64_t n) {
  return std::to_string(n);
}

void require_tokens(const BuildInput& in, const char* type) {
  if (in.shape.size() != 2)
    throw shape_error(
        in, std::string(type) + " needs tokens (N, T, D), but the input is " +
                (in.shape.size() == 3 ? "an image (N, C, H, W): add `tokens`" : "not tokens"));
}

// ---- activations ----

template <Activation kind>
BuiltLayer build_activation_layer(const NoArgs&, const BuildInput& in) {
  return {torch::nn::AnyModule(ActivationLayer(kind)), in.shape, 0};
}

// ---- normalisation ----

struct LayerNormArgs {
  double eps = 1e-5;
  std::string over = "auto";
  bool affine = true;

  template <class V>
  void visit(V& v) {
    v.field("eps", eps, "added to the variance (torchvision: ConvNeXt and ViT 1e-6)",
            config::positive());
    v.field("over", over,
            "channels: each pixel's channels of an image (ConvNeXt's LayerNorm2d); last: the "
            "last dimension (tokens, channels-last); auto: channels for an image, else last",
            config::one_of({"auto", "channels", "last"}));
    v.field("affine", affine, "learn a scale and shift per feature");
  }
};

BuiltLayer build_layernorm(const LayerNormArgs& a, const BuildInput& in) {
  const bool channels = a.over == "channels" || (a.over == "auto" && in.shape.size() == 3);
  if (channels) require_image(in, "layernorm over channels");
  const int64_t features = channels ? in.shape[0] : in.shape.back();
  return {torch::nn::AnyModule(LayerNorm(features, a.eps, channels, a.affine)), in.shape,
          numel(in.shape)};
}

struct GroupNormArgs {
  int64_t groups = 0;
  double eps = 1e-5;
  bool affine = true;

  template <class V>
  void visit(V& v) {
    v.required("groups", groups, "channel groups normalised together", at_least(1));
    v.field("eps", eps, "added to the variance", config::positive());
    v.field("affine", affine, "learn a scale and shift per channel");
  }
};

BuiltLayer build_groupnorm(const GroupNormArgs& a, const BuildInput& in) {
  require_image(in, "groupnorm");
  if (in.shape[0] % a.groups != 0)
    throw shape_error(in, "groups " + count(a.groups) + " must divide the input's " +
                              count(in.shape[0]) + " channels");
  auto options = torch::nn::GroupNormOptions(a.groups, in.shape[0]).eps(a.eps).affine(a.affine);
  return {torch::nn::AnyModule(torch::nn::GroupNorm(options)), in.shape, numel(in.shape)};
}

// ---- residual helpers ----

struct StochasticDepthArgs {
  double p = 0;
  std::string mode = "row";

  template <class V>
  void visit(V& v) {
    v.required("p", p, "probability of dropping the residual while training",
               config::in_range(0, 1));
    v.field("mode", mode, "row: per example; batch: the whole batch at once",
            config::one_of({"row", "batch"}));
  }
};

BuiltLayer build_stochastic_depth(const StochasticDepthArgs& a, const BuildInput& in) {
  return {torch::nn::AnyModule(StochasticDepth(a.p, a.mode == "row")), in.shape, 0};
}

struct LayerScaleArgs {
  double init = 1e-6;

  template <class V>
  void visit(V& v) {
    v.field("init", init, "the scale's starting value (ConvNeXt: 1e-6)");
  }
};

BuiltLayer build_layer_scale(const LayerScaleArgs& a, const BuildInput& in) {
  if (in.shape.empty()) throw shape_error(in, "layer_scale needs an input with features");
  // Per channel of an image (C x 1 x 1), per feature of tokens or a flat input.
  std::vector<int64_t> shape{in.shape.size() == 3 ? in.shape[0] : in.shape.back()};
  if (in.shape.size() == 3) shape = {in.shape[0], 1, 1};
  return {torch::nn::AnyModule(LayerScale(shape, a.init)), in.shape, numel(in.shape)};
}

// ---- channels ----

struct GroupsArgs {
  int64_t groups = 0;

  template <class V>
  void visit(V& v) {
    v.required("groups", groups, "channel groups interleaved", at_least(1));
  }
};

BuiltLayer build_channel_shuffle(const GroupsArgs& a, const BuildInput& in) {
  require_image(in, "channel_shuffle");
  if (in.shape[0] % a.groups != 0)
    throw shape_error(in, "groups " + count(a.groups) + " must divide the input's " +
                              count(in.shape[0]) + " channels");
  return {torch::nn::AnyModule(ChannelShuffle(a.groups)), in.shape, 0};
}

struct ChannelSplitArgs {
  int64_t parts = 2;
  int64_t index = 0;

  template <class V>
  void visit(V& v) {
    v.field("parts", parts, "equal slices of the channels", at_least(2));
    v.required("index", index, "which slice, from 0", at_least(0));
  }
};

BuiltLayer build_channel_split(const ChannelSplitArgs& a, const BuildInput& in) {
  require_image(in, "channel_split");
  if (in.shape[0] % a.parts != 0)
    throw shape_error(in, "the input's " + count(in.shape[0]) + " channels do not split into " +
                              count(a.parts) + " equal parts");
  if (a.index >= a.parts)
    throw shape_error(in, "index " + count(a.index) + " is not one of the " + count(a.parts) +
                              " parts (0 to " + count(a.parts - 1) + ")");
  return {torch::nn::AnyModule(ChannelSplit(a.parts, a.index)),
          Shape{in.shape[0] / a.parts, in.shape[1], in.shape[2]}, 0};
}

struct PermuteArgs {
  std::vector<int64_t> dims;

  template <class V>
  void visit(V& v) {
    v.required("dims", dims, "the new order of the dimensions after the batch: [1, 2, 0]");
  }
};

BuiltLayer build_permute(const PermuteArgs& a, const BuildInput& in) {
  std::vector<int64_t> sorted = a.dims;
  std::sort(sorted.begin(), sorted.end());
  bool ok = sorted.size() == in.shape.size();
  for (size_t i = 0; ok && i < sorted.size(); ++i) ok = sorted[i] == int64_t(i);
  if (!ok)
    throw shape_error(in, "dims must order 0 to " + count(int64_t(in.shape.size()) - 1) +
                              ", each once, for an input of " + count(int64_t(in.shape.size())) +
                              " dimensions");
  Shape out;
  for (int64_t d : a.dims) out.push_back(in.shape[size_t(d)]);
  return {torch::nn::AnyModule(Permute(a.dims)), out, 0};
}

// ---- tokens ----

BuiltLayer build_tokens(const NoArgs&, const BuildInput& in) {
  require_image(in, "tokens");
  return {torch::nn::AnyModule(Tokens()), Shape{in.shape[1] * in.shape[2], in.shape[0]}, 0};
}

BuiltLayer build_class_token(const NoArgs&, const BuildInput& in) {
  require_tokens(in, "class_token");
  return {torch::nn::AnyModule(ClassToken(in.shape[1])), Shape{in.shape[0] + 1, in.shape[1]}, 0};
}

struct PositionEmbeddingArgs {
  double std = 0.02;

  template <class V>
  void visit(V& v) {
    v.field("std", std, "standard deviation of the starting values (ViT: 0.02)",
            config::non_negative());
  }
};

BuiltLayer build_position_embedding(const PositionEmbeddingArgs& a, const BuildInput& in) {
  require_tokens(in, "position_embedding");
  return {torch::nn::AnyModule(PositionEmbedding(in.shape[0], in.shape[1], a.std)), in.shape, 0};
}

struct AttentionArgs {
  int64_t heads = 0;
  double dropout = 0;
  bool bias = true;

  template <class V>
  void visit(V& v) {
    v.required("heads", heads, "attention heads; they split the width", at_least(1));
    v.field("dropout", dropout, "dropout on the attention weights while training",
            config::below(0, 1));
    v.field("bias", bias, "learn the projections' biases");
  }
};

BuiltLayer build_attention(const AttentionArgs& a, const BuildInput& in) {
  require_tokens(in, "multihead_attention");
  const int64_t t = in.shape[0], d = in.shape[1];
  if (d % a.heads != 0)
    throw shape_error(in, "heads " + count(a.heads) + " must divide the width " + count(d));
  // Four D x D projections per token, then scores and the weighted sum: 2 T^2 D.
  const int64_t macs = 4 * t * d * d + 2 * t * t * d;
  return {torch::nn::AnyModule(MultiheadAttention(d, a.heads, a.dropout, a.bias)), in.shape, macs};
}

struct SelectTokenArgs {
  int64_t index = 0;

  template <class V>
  void visit(V& v) {
    v.field("index", index, "which token, from 0 (the class token)", at_least(0));
  }
};

BuiltLayer build_select_token(const SelectTokenArgs& a, const BuildInput& in) {
  require_tokens(in, "select_token");
  if (a.index >= in.shape[0])
    throw shape_error(in,
                      "index " + count(a.index) + " is past the " + count(in.shape[0]) + " tokens");
  return {torch::nn::AnyModule(SelectToken(a.index)), Shape{in.shape[1]}, 0};
}

}  // namespace

void register_modern_layers(LayerRegistry& r) {
  r.add(make_layer<NoArgs, build_activation_layer<Activation::kSiLU>>("silu", "silu",
                                                                      "x * sigmoid(x) (swish)"));
  r.add(make_layer<NoArgs, build_activation_layer<Activation::kHardswish>>(
      "hardswish", "hardswish", "x * relu6(x + 3) / 6 (MobileNetV3)"));
  r.add(make_layer<NoArgs, build_activation_layer<Activation::kHardsigmoid>>(
      "hardsigmoid", "hardsigmoid", "relu6(x + 3) / 6 (MobileNetV3's gates)"));
  r.add(make_layer<NoArgs, build_activation_layer<Activation::kReLU6>>("relu6", "relu6",
                                                                       "min(max(x, 0), 6)"));
  r.add(make_layer<LayerNormArgs, build_layernorm>(
      "layernorm", "layernorm", "layer normalisation over an image's channels or the last dim"));
  r.add(make_layer<GroupNormArgs, build_groupnorm>("groupnorm", "groupnorm",
                                                   "normalisation over groups of channels"));
  r.add(make_layer<StochasticDepthArgs, build_stochastic_depth>(
      "stochastic_depth", "stochastic_depth",
      "drops a residual branch while training (torchvision's StochasticDepth)"));
  r.add(make_layer<LayerScaleArgs, build_layer_scale>(
      "layer_scale", "layer_scale", "a learned per-channel scale, a bare parameter (ConvNeXt)"));
  r.add(make_layer<GroupsArgs, build_channel_shuffle>("channel_shuffle", "channel_shuffle",
                                                      "interleaves channel groups (ShuffleNet)"));
  r.add(make_layer<ChannelSplitArgs, build_channel_split>(
      "channel_split", "channel_split", "one equal slice of the channels (ShuffleNet)"));
  r.add(make_layer<PermuteArgs, build_permute>("permute", "permute",
                                               "reorders the dimensions after the batch"));
  r.add(make_layer<NoArgs, build_tokens>("tokens", "tokens",
                                         "an image's pixels as tokens: C x H x W to (H W) x C"));
  r.add(make_layer<NoArgs, build_class_token>("class_token", "class_token",
                                              "a learned token before the others (ViT)"));
  r.add(make_layer<PositionEmbeddingArgs, build_position_embedding>(
      "position_embedding", "pos_embedding", "a learned embedding added to each token (ViT)"));
  r.add(make_layer<AttentionArgs, build_attention>(
      "multihead_attention", "self_attention",
      "self-attention over the tokens, parameters as nn.MultiheadAttention's"));
  r.add(make_layer<SelectTokenArgs, build_select_token>("select_token", "select_token",
                                                        "one token of each example (ViT's head)"));
}

}  // namespace dlx::nn
