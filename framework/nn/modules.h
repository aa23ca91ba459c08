// The modules behind the layer types of today's networks that LibTorch lacks as modules:
// normalisation over an image's channels, stochastic depth, layer scale, channel shuffle and
// split, permutes, and the token side of a transformer. Parameters are named as torchvision's
// modules name them, so that checkpoints are their state_dicts. In a header so that the ONNX
// export can read them.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "framework/nn/layer_registry.h"
#include "framework/nn/layers.h"

namespace dlx::nn {

/// An activation as a layer (silu, hardswish, hardsigmoid, relu6): no parameters.
class ActivationLayerImpl : public torch::nn::Module {
 public:
  explicit ActivationLayerImpl(Activation activation) : activation_(activation) {}
  torch::Tensor forward(const torch::Tensor& x) { return activate(activation_, x); }
  Activation activation() const { return activation_; }

 private:
  Activation activation_;
};
TORCH_MODULE(ActivationLayer);

/// Layer normalisation over the last dimension (tokens, channels-last images) or over the
/// channels of an image (ConvNeXt's LayerNorm2d: each pixel's channels normalised).
class LayerNormImpl : public torch::nn::Module {
 public:
  LayerNormImpl(int64_t features, double eps, bool channels, bool affine);
  torch::Tensor forward(const torch::Tensor& x);
  double eps() const { return eps_; }
  bool channels() const { return channels_; }
  bool affine() const { return weight.defined(); }
  torch::Tensor weight, bias;

 private:
  int64_t features_;
  double eps_;
  bool channels_;
};
TORCH_MODULE(LayerNorm);

/// torchvision's StochasticDepth: while training, zeroes a whole example's residual ("row") or
/// the whole batch's, with probability p, and scales what survives by 1 / (1 - p).
class StochasticDepthImpl : public torch::nn::Module {
 public:
  StochasticDepthImpl(double p, bool row) : p_(p), row_(row) {}
  torch::Tensor forward(const torch::Tensor& x);
  double p() const { return p_; }

 private:
  double p_;
  bool row_;
};
TORCH_MODULE(StochasticDepth);

/// A learned per-channel (or per-feature) scale, saved as a bare parameter (ConvNeXt's
/// layer_scale: C x 1 x 1 for images, C for tokens).
class LayerScaleImpl : public torch::nn::Module {
 public:
  LayerScaleImpl(std::vector<int64_t> shape, double init) {
    scale = register_parameter(kBareParameter, torch::full(shape, init));
  }
  torch::Tensor forward(const torch::Tensor& x) { return x * scale; }
  torch::Tensor scale;
};
TORCH_MODULE(LayerScale);

/// ShuffleNet's channel shuffle: channels viewed as groups x (C / groups), transposed.
class ChannelShuffleImpl : public torch::nn::Module {
 public:
  explicit ChannelShuffleImpl(int64_t groups) : groups_(groups) {}
  torch::Tensor forward(const torch::Tensor& x);
  int64_t groups() const { return groups_; }

 private:
  int64_t groups_;
};
TORCH_MODULE(ChannelShuffle);

/// One of `parts` equal slices of the channels (ShuffleNet's x.chunk(2, dim=1)).
class ChannelSplitImpl : public torch::nn::Module {
 public:
  ChannelSplitImpl(int64_t parts, int64_t index) : parts_(parts), index_(index) {}
  torch::Tensor forward(const torch::Tensor& x) { return x.chunk(parts_, 1)[index_]; }
  int64_t parts() const { return parts_; }
  int64_t index() const { return index_; }

 private:
  int64_t parts_, index_;
};
TORCH_MODULE(ChannelSplit);

/// Reorders the dimensions after the batch ([1, 2, 0]: C, H, W to H, W, C).
class PermuteImpl : public torch::nn::Module {
 public:
  explicit PermuteImpl(std::vector<int64_t> dims) : dims_(std::move(dims)) {}
  torch::Tensor forward(const torch::Tensor& x);
  const std::vector<int64_t>& dims() const { return dims_; }

 private:
  std::vector<int64_t> dims_;
};
TORCH_MODULE(Permute);

/// An image's pixels as tokens: C x H x W to (H W) x C, row by row (ViT after its patch
/// convolution).
class TokensImpl : public torch::nn::Module {
 public:
  torch::Tensor forward(const torch::Tensor& x) { return x.flatten(2).transpose(1, 2); }
};
TORCH_MODULE(Tokens);

/// A learned token put before the others (ViT's class_token, 1 x 1 x D, a bare parameter).
class ClassTokenImpl : public torch::nn::Module {
 public:
  explicit ClassTokenImpl(int64_t width) {
    token = register_parameter(kBareParameter, torch::zeros({1, 1, width}));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return torch::cat({token.expand({x.size(0), 1, token.size(2)}), x}, 1);
  }
  torch::Tensor token;
};
TORCH_MODULE(ClassToken);

/// A learned embedding added to each token (ViT's pos_embedding, 1 x T x D, a bare parameter).
class PositionEmbeddingImpl : public torch::nn::Module {
 public:
  PositionEmbeddingImpl(int64_t tokens, int64_t width, double std) {
    embedding = register_parameter(kBareParameter, torch::randn({1, tokens, width}) * std);
  }
  torch::Tensor forward(const torch::Tensor& x) { return x + embedding; }
  torch::Tensor embedding;
};
TORCH_MODULE(PositionEmbedding);

/// Self-attention over the tokens with PyTorch's nn.MultiheadAttention's parameters
/// (in_proj_weight 3D x D, in_proj_bias, out_proj), batch first.
class MultiheadAttentionImpl : public torch::nn::Module {
 public:
  MultiheadAttentionImpl(int64_t width, int64_t heads, double dropout, bool bias);
  torch::Tensor forward(const torch::Tensor& x);
  int64_t heads() const { return heads_; }
  torch::Tensor in_proj_weight, in_proj_bias;
  torch::nn::Linear out_proj{nullptr};

 private:
  int64_t heads_;
  double dropout_;
};
TORCH_MODULE(MultiheadAttention);

/// One token of each example (ViT's x[:, 0], the class token after the encoder).
class SelectTokenImpl : public torch::nn::Module {
 public:
  explicit SelectTokenImpl(int64_t index) : index_(index) {}
  torch::Tensor forward(const torch::Tensor& x) { return x.select(1, index_); }
  int64_t index() const { return index_; }

 private:
  int64_t index_;
};
TORCH_MODULE(SelectToken);

/// Registers the layer types of these modules (called by register_builtin_layers).
void register_modern_layers(LayerRegistry& registry);

}  // namespace dlx::nn
