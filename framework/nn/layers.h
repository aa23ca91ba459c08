// The modules behind the layer types that LibTorch lacks as such: a convolution or a dense layer
// with its activation inside, so that the chapter's `conv0` is one layer (one line of the shapes
// table) and its parameters are saved as conv0.weight and conv0.bias, as in PyTorch.
#pragma once

#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <string>
#include <vector>

#include "framework/config/choices.h"

namespace dlx::nn {

enum class Activation {
  kNone,
  kReLU,
  kSigmoid,
  kTanh,
  kGELU,
  kLeakyReLU,
  kSiLU,
  kHardswish,
  kHardsigmoid,
  kReLU6
};
}  // namespace dlx::nn

namespace dlx::config {
/// The `activation:` key's names (conv2d, dense).
template <>
struct Choices<nn::Activation> {
  static const std::vector<Choice<nn::Activation>>& all();
};
}  // namespace dlx::config

namespace dlx::nn {

/// Applies the activation (kLeakyReLU uses PyTorch's default slope, 0.01).
torch::Tensor activate(Activation activation, const torch::Tensor& x);

/// The zeros a convolution adds on each side of the image, as applied: `padding: same` is
/// uneven when the window's span is odd (the extra zero goes after, as in PyTorch).
struct Padding2d {
  int64_t top = 0, left = 0, bottom = 0, right = 0;
};

class Conv2dActImpl : public torch::nn::Conv2dImpl {
 public:
  Conv2dActImpl(torch::nn::Conv2dOptions options, Activation activation, Padding2d padding);
  torch::Tensor forward(const torch::Tensor& x);
  Activation activation() const { return activation_; }
  const Padding2d& padding() const { return padding_; }

 private:
  /// Whether this convolution trains in float32 under the CPU's bfloat16 autocast (see forward).
  bool float32_under_cpu_autocast(const torch::Tensor& x) const;

  Activation activation_;
  Padding2d padding_;
  bool large_depthwise_;
};
TORCH_MODULE(Conv2dAct);

/// A linear layer that flattens its input first (Gluon's Dense does the same), or acts on the
/// last dimension (of tokens, or of a channels-last image) when `flatten` is off.
class DenseImpl : public torch::nn::LinearImpl {
 public:
  DenseImpl(torch::nn::LinearOptions options, Activation activation, bool flatten = true)
      : torch::nn::LinearImpl(std::move(options)), activation_(activation), flatten_(flatten) {}
  torch::Tensor forward(const torch::Tensor& x) {
    return activate(activation_,
                    torch::nn::LinearImpl::forward(flatten_ && x.dim() > 2 ? x.flatten(1) : x));
  }
  Activation activation() const { return activation_; }
  bool flatten() const { return flatten_; }

 private:
  Activation activation_;
  bool flatten_;
};
TORCH_MODULE(Dense);

}  // namespace dlx::nn
