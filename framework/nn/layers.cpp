// Every built-in layer type: its arguments (defaults as PyTorch documents them), its shape rule
// and its module, and the one table that registers them all.
#include "framework/nn/layers.h"

#include <ATen/core/grad_mode.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/pooling.h>

#include "framework/nn/layer_kit.h"
#include "framework/nn/modules.h"
#include "framework/nn/pair.h"
#include "framework/nn/precision.h"
#include "framework/nn/windows.h"

namespace dlx::config {

const std::vector<Choice<nn::Activation>>& Choices<nn::Activation>::all() {
  using nn::Activation;
  static const std::vector<Choice<Activation>> table{
      {Activation::kNone, "none", "the identity"},
      {Activation::kReLU, "relu", "max(x, 0)"},
      {Activation::kSigmoid, "sigmoid", "1 / (1 + exp(-x))"},
      {Activation::kTanh, "tanh", "hyperbolic tangent"},
      {Activation::kGELU, "gelu", "Gaussian error linear unit"},
      {Activation::kLeakyReLU, "leaky_relu", "max(x, 0.01 x)"},
      {Activation::kSiLU, "silu", "x * sigmoid(x) (swish)"},
      {Activation::kHardswish, "hardswish", "x * relu6(x + 3) / 6"},
      {Activation::kHardsigmoid, "hardsigmoid", "relu6(x + 3) / 6"},
      {Activation::kReLU6, "relu6", "min(max(x, 0), 6)"}};
  return table;
}

}  // namespace dlx::config

namespace dlx::nn {

using config::at_least;
using config::Check;

torch::Tensor activate(Activation activation, const torch::Tensor& x) {
  switch (activation) {
    case Activation::kReLU:
      return torch::relu(x);
    case Activation::kSigmoid:
      return torch::sigmoid(x);
    case Activation::kTanh:
      return torch::tanh(x);
    case Activation::kGELU:
      return torch::gelu(x);
    case Activation::kLeakyReLU:
      return torch::leaky_relu(x, torch::nn::LeakyReLUOptions().negative_slope());
    case Activation::kSiLU:
      return torch::silu(x);
    case Activation::kHardswish:
      return torch::hardswish(x);
    case Activation::kHardsigmoid:
      return torch::hardsigmoid(x);
    case Activation::kReLU6:
      return torch::hardtanh(x, 0.0, 6.0);
    case Activation::kNone:
      break;
  }
  return x;
}

Conv2dActImpl::Conv2dActImpl(torch::nn::Conv2dOptions options, Activation activation,
                             Padding2d padding)
    : torch::nn::Conv2dImpl(std::move(options)), activation_(activation), padding_(padding) {
  const auto& o = this->options;
  large_depthwise_ = o.groups() > 1 && o.groups() == o.in_channels() &&
                     ((*o.kernel_size())[0] > 3 || (*o.kernel_size())[1] > 3);
}

torch::Tensor Conv2dActImpl::forward(const torch::Tensor& x) {
  if (!float32_under_cpu_autocast(x))
    return activate(activation_, torch::nn::Conv2dImpl::forward(x));
  const auto handed_on = autocast_dtype(c10::DeviceType::CPU);
  torch::Tensor out;
  {
    AutocastOff off(c10::DeviceType::CPU);
    out = torch::nn::Conv2dImpl::forward(x.to(torch::kFloat));
  }
  return activate(activation_, out.to(handed_on));
}

// oneDNN's bfloat16 backward of a depthwise convolution with a window over 3x3 (MobileNetV3's and
// EfficientNet's 5x5, ConvNeXt's 7x7) is 2-4x slower than its float32 backward on a Zen 4 with
// AVX512-BF16, while its 3x3 one and every bfloat16 forward are faster than float32's (measured
// 2026-12-04, docs/performance.md). So while gradients are recorded such a convolution computes in
// float32 and hands bfloat16 on, which also makes it more exact; evaluation stays in bfloat16.
bool Conv2dActImpl::float32_under_cpu_autocast(const torch::Tensor& x) const {
  return large_depthwise_ && x.is_cpu() && at::GradMode::is_enabled() &&
         (weight.requires_grad() || x.requires_grad()) && autocast_enabled(c10::DeviceType::CPU) &&
         autocast_dtype(c10::DeviceType::CPU) == torch::kBFloat16;
}

namespace {

// ---- shape rules ----

// PyTorch's output-size rule for convolutions and pooling windows.
int64_t window_output(int64_t size, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation,
                      bool ceil_mode) {
  int64_t span = size + 2 * pad - dilation * (kernel - 1) - 1;
  if (span < 0) return 0;
  int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  // A ceil-mode window must start inside the input or its left padding.
  if (ceil_mode && (out - 1) * stride >= size + pad) --out;
  return out;
}

struct Window {
  Pair kernel, stride, pad, dilation{1};
  bool ceil_mode = false;
};

Shape window_shape(const BuildInput& in, int64_t channels, const Window& w) {
  int64_t h =
      window_output(in.shape[1], w.kernel.h, w.stride.h, w.pad.h, w.dilation.h, w.ceil_mode);
  int64_t x =
      window_output(in.shape[2], w.kernel.w, w.stride.w, w.pad.w, w.dilation.w, w.ceil_mode);
  Shape out{channels, h, x};
  if (h < 1 || x < 1) {
    throw shape_error(in,
                      "window " + w.kernel.str() + " does not fit the padded input " +
                          std::to_string(in.shape[1] + 2 * w.pad.h) + "x" +
                          std::to_string(in.shape[2] + 2 * w.pad.w),
                      out);
  }
  return out;
}

void require_half_window_padding(const BuildInput& in, const Pair& pad, const Pair& kernel) {
  if (pad.h > kernel.h / 2 || pad.w > kernel.w / 2) {
    throw shape_error(in, "padding " + pad.str() + " is more than half the window " + kernel.str());
  }
}

// ---- conv2d ----

struct Conv2dArgs {
  int64_t out_channels = 0;
  Pair kernel_size;
  Pair stride{1};
  Padding padding;
  Pair dilation{1};
  int64_t groups = 1;
  bool bias = true;
  Activation activation = Activation::kNone;
  bool patches = false;

  template <class V>
  void visit(V& v) {
    v.required("out_channels", out_channels, "output channels", at_least(1));
    v.required("kernel_size", kernel_size, "window: k or [kh, kw]", pair_at_least(1));
    v.field("stride", stride, "step between windows", pair_at_least(1));
    v.field("padding", padding, "zeros on each side: p, [ph, pw], same or valid",
            Check<Padding>{[](const Padding& p) { return p.size.h >= 0 && p.size.w >= 0; },
                           "a padding >= 0"});
    v.field("dilation", dilation, "spacing between window elements", pair_at_least(1));
    v.field("groups", groups, "channel groups: 2 gives the 2012 paper's two-GPU split",
            at_least(1));
    v.field("bias", bias, "learn an additive bias");
    v.field("activation", activation, "applied to the output");
    v.field("patches", patches,
            "the windows cut the image into whole patches (ViT): an image size the kernel does "
            "not divide is an error, not a cropped edge");
  }
};

BuiltLayer build_conv2d(const Conv2dArgs& a, const BuildInput& in) {
  require_image(in, "conv2d");
  const int64_t channels = in.shape[0];
  if (a.patches && (in.shape[1] % a.kernel_size.h || in.shape[2] % a.kernel_size.w ||
                    !(a.stride == a.kernel_size)))
    throw shape_error(in, "patches of " + a.kernel_size.str() + " (stride " + a.stride.str() +
                              ") do not tile the " + std::to_string(in.shape[1]) + "x" +
                              std::to_string(in.shape[2]) +
                              " image: its size must be a multiple of the patch size");
  if (channels % a.groups != 0 || a.out_channels % a.groups != 0) {
    throw shape_error(in, "groups " + std::to_string(a.groups) + " must divide both the input's " +
                              std::to_string(channels) + " channels and out_channels " +
                              std::to_string(a.out_channels));
  }
  auto options = torch::nn::Conv2dOptions(channels, a.out_channels, a.kernel_size.array())
                     .stride(a.stride.array())
                     .dilation(a.dilation.array())
                     .groups(a.groups)
                     .bias(a.bias);
  Shape out;
  Padding2d applied;
  if (a.padding.mode == "same") {
    if (!(a.stride == Pair(1)))
      throw shape_error(in, "padding 'same' needs stride 1, as in PyTorch");
    options.padding(torch::kSame);
    out = Shape{a.out_channels, in.shape[1], in.shape[2]};
    const int64_t span_h = a.dilation.h * (a.kernel_size.h - 1);
    const int64_t span_w = a.dilation.w * (a.kernel_size.w - 1);
    applied = {span_h / 2, span_w / 2, span_h - span_h / 2, span_w - span_w / 2};
  } else {
    Pair pad = a.padding.size;  // "valid" is zero padding
    options.padding(pad.array());
    out = window_shape(in, a.out_channels, Window{a.kernel_size, a.stride, pad, a.dilation, false});
    applied = {pad.h, pad.w, pad.h, pad.w};
  }
  int64_t macs = numel(out) * (channels / a.groups) * a.kernel_size.h * a.kernel_size.w;
  return {torch::nn::AnyModule(Conv2dAct(options, a.activation, applied)), out, macs};
}

// ---- pooling ----

// The keys that max and average pooling share, and their shape rule.
struct PoolArgs {
  Pair kernel_size;
  Pair stride{0};
  Pair padding{0};
  bool ceil_mode = false;

  template <class V>
  void visit_window(V& v, const char* padding_help) {
    v.required("kernel_size", kernel_size, "window: k or [kh, kw]", pair_at_least(1));
    v.field("stride", stride, "step between windows; 0 = kernel_size", pair_at_least(0));
    v.field("padding", padding, padding_help, pair_at_least(0));
    v.field("ceil_mode", ceil_mode, "round the output size up instead of down");
  }
  Pair effective_stride() const {
    return Pair(stride.h ? stride.h : kernel_size.h, stride.w ? stride.w : kernel_size.w);
  }
  Shape output(const BuildInput& in, const char* type, const Pair& dilation) const {
    require_image(in, type);
    require_half_window_padding(in, padding, kernel_size);
    return window_shape(in, in.shape[0],
                        Window{kernel_size, effective_stride(), padding, dilation, ceil_mode});
  }
};

struct MaxPoolArgs : PoolArgs {
  Pair dilation{1};

  template <class V>
  void visit(V& v) {
    visit_window(v, "implicit -inf padding on each side, at most half the window");
    v.field("dilation", dilation, "spacing between window elements", pair_at_least(1));
  }
};

BuiltLayer build_maxpool2d(const MaxPoolArgs& a, const BuildInput& in) {
  Shape out = a.output(in, "maxpool2d", a.dilation);
  auto options = torch::nn::MaxPool2dOptions(a.kernel_size.array())
                     .stride(a.effective_stride().array())
                     .padding(a.padding.array())
                     .dilation(a.dilation.array())
                     .ceil_mode(a.ceil_mode);
  return {torch::nn::AnyModule(torch::nn::MaxPool2d(options)), out, 0};
}

struct AvgPoolArgs : PoolArgs {
  bool count_include_pad = true;

  template <class V>
  void visit(V& v) {
    visit_window(v, "zero padding on each side, at most half the window");
    v.field("count_include_pad", count_include_pad, "count padding zeros in the average");
  }
};

BuiltLayer build_avgpool2d(const AvgPoolArgs& a, const BuildInput& in) {
  Shape out = a.output(in, "avgpool2d", Pair(1));
  auto options = torch::nn::AvgPool2dOptions(a.kernel_size.array())
                     .stride(a.effective_stride().array())
                     .padding(a.padding.array())
                     .ceil_mode(a.ceil_mode)
                     .count_include_pad(a.count_include_pad);
  return {torch::nn::AnyModule(torch::nn::AvgPool2d(options)), out, 0};
}

struct AdaptiveAvgPoolArgs {
  Pair output_size;

  template <class V>
  void visit(V& v) {
    v.required("output_size", output_size, "output height and width: s or [h, w]",
               pair_at_least(1));
  }
};

BuiltLayer build_adaptive_avgpool2d(const AdaptiveAvgPoolArgs& a, const BuildInput& in) {
  require_image(in, "adaptive_avgpool2d");
  Shape out{in.shape[0], a.output_size.h, a.output_size.w};
  auto options = torch::nn::AdaptiveAvgPool2dOptions({a.output_size.h, a.output_size.w});
  return {torch::nn::AnyModule(torch::nn::AdaptiveAvgPool2d(options)), out, 0};
}

// ---- normalisation and regularisation ----

struct LocalResponseNormArgs {
  int64_t size = 0;
  double alpha = 1e-4;
  double beta = 0.75;
  double k = 1.0;

  template <class V>
  void visit(V& v) {
    v.required("size", size, "neighbouring channels summed over (5 in the 2012 paper)",
               at_least(1));
    v.field("alpha", alpha, "scale of the sum", config::non_negative());
    v.field("beta", beta, "exponent", config::non_negative());
    v.field("k", k, "additive constant (2 in the 2012 paper)", config::non_negative());
  }
};

BuiltLayer build_local_response_norm(const LocalResponseNormArgs& a, const BuildInput& in) {
  require_image(in, "local_response_norm");
  auto options = torch::nn::LocalResponseNormOptions(a.size).alpha(a.alpha).beta(a.beta).k(a.k);
  return {torch::nn::AnyModule(torch::nn::LocalResponseNorm(options)), in.shape, 0};
}

// Defaults from LibTorch's own options, where PyTorch documents them.
struct BatchNormArgs {
  double eps = torch::nn::BatchNormOptions(1).eps();
  double momentum = *torch::nn::BatchNormOptions(1).momentum();
  bool affine = true;
  bool track_running_stats = true;

  template <class V>
  void visit(V& v) {
    v.field("eps", eps, "added to the variance", config::positive());
    v.field("momentum", momentum, "weight of each batch in the running statistics",
            config::in_range(0, 1));
    v.field("affine", affine, "learn a scale and shift per channel");
    v.field("track_running_stats", track_running_stats, "keep running mean/var for evaluation");
  }
};

// BatchNorm1d and BatchNorm2d share one options type (BatchNormOptions).
template <class Module>
BuiltLayer batchnorm(const BatchNormArgs& a, const BuildInput& in) {
  auto options = torch::nn::BatchNormOptions(in.shape[0])
                     .eps(a.eps)
                     .momentum(a.momentum)
                     .affine(a.affine)
                     .track_running_stats(a.track_running_stats);
  return {torch::nn::AnyModule(Module(options)), in.shape, 0};
}

BuiltLayer build_batchnorm2d(const BatchNormArgs& a, const BuildInput& in) {
  require_image(in, "batchnorm2d");
  return batchnorm<torch::nn::BatchNorm2d>(a, in);
}

// After a dense layer, as d2l's BNLeNet: each feature normalised over the batch.
BuiltLayer build_batchnorm1d(const BatchNormArgs& a, const BuildInput& in) {
  if (in.shape.size() != 1) {
    throw shape_error(in,
                      "batchnorm1d needs a flat input (N, F), as a dense layer gives; use "
                      "batchnorm2d after a convolution");
  }
  return batchnorm<torch::nn::BatchNorm1d>(a, in);
}

struct DropoutArgs {
  double p = 0.5;

  template <class V>
  void visit(V& v) {
    v.field("p", p, "probability of zeroing an element while training", config::below(0, 1));
  }
};

BuiltLayer build_dropout(const DropoutArgs& a, const BuildInput& in) {
  return {torch::nn::AnyModule(torch::nn::Dropout(torch::nn::DropoutOptions(a.p))), in.shape, 0};
}

BuiltLayer build_flatten(const NoArgs&, const BuildInput& in) {
  return {torch::nn::AnyModule(torch::nn::Flatten()), Shape{numel(in.shape)}, 0};
}

// ---- dense ----

struct DenseArgs {
  int64_t units = 0;
  bool bias = true;
  Activation activation = Activation::kNone;
  bool flatten = true;

  template <class V>
  void visit(V& v) {
    v.required("units", units,
               "output features; an image is flattened first, tokens are mapped one by one",
               at_least(1));
    v.field("bias", bias, "learn an additive bias");
    v.field("activation", activation, "applied to the output");
    v.field("flatten", flatten,
            "false: act on the last dimension (a channels-last image's channels), as nn.Linear");
  }
};

BuiltLayer build_dense(const DenseArgs& a, const BuildInput& in) {
  // Tokens (T, D) are mapped one by one, as nn.Linear maps the last dimension.
  const bool last = !a.flatten || in.shape.size() == 2;
  const int64_t features = last ? in.shape.back() : numel(in.shape);
  Shape out{a.units};
  if (last) out = in.shape, out.back() = a.units;
  auto options = torch::nn::LinearOptions(features, a.units).bias(a.bias);
  return {torch::nn::AnyModule(Dense(options, a.activation, !last)), out, numel(out) * features};
}

// ---- activations ----

template <class Module>
BuiltLayer build_activation(const NoArgs&, const BuildInput& in) {
  return {torch::nn::AnyModule(Module()), in.shape, 0};
}

struct LeakyReluArgs {
  double negative_slope = torch::nn::LeakyReLUOptions().negative_slope();

  template <class V>
  void visit(V& v) {
    v.field("negative_slope", negative_slope, "slope for negative inputs", config::non_negative());
  }
};

BuiltLayer build_leaky_relu(const LeakyReluArgs& a, const BuildInput& in) {
  auto options = torch::nn::LeakyReLUOptions().negative_slope(a.negative_slope);
  return {torch::nn::AnyModule(torch::nn::LeakyReLU(options)), in.shape, 0};
}

}  // namespace

void register_builtin_layers(LayerRegistry& r) {
  r.add(make_layer<Conv2dArgs, build_conv2d>("conv2d", "conv", "2-D convolution (+ activation)"));
  r.add(make_layer<MaxPoolArgs, build_maxpool2d>("maxpool2d", "pool", "2-D max pooling"));
  r.add(make_layer<AvgPoolArgs, build_avgpool2d>("avgpool2d", "pool", "2-D average pooling"));
  r.add(make_layer<AdaptiveAvgPoolArgs, build_adaptive_avgpool2d>(
      "adaptive_avgpool2d", "pool", "average pooling to a fixed output size"));
  r.add(make_layer<LocalResponseNormArgs, build_local_response_norm>(
      "local_response_norm", "lrn", "local response normalisation across channels (AlexNet 2012)"));
  r.add(make_layer<BatchNormArgs, build_batchnorm2d>("batchnorm2d", "batchnorm",
                                                     "batch normalisation per channel"));
  r.add(make_layer<BatchNormArgs, build_batchnorm1d>(
      "batchnorm1d", "batchnorm", "batch normalisation per feature, after a dense layer"));
  r.add(make_layer<DropoutArgs, build_dropout>("dropout", "dropout", "dropout while training"));
  r.add(make_layer<NoArgs, build_flatten>("flatten", "flatten",
                                          "flattens all but the batch dimension"));
  r.add(make_layer<DenseArgs, build_dense>("dense", "dense", "fully connected (+ activation)"));
  r.add(make_layer<NoArgs, build_activation<torch::nn::ReLU>>("relu", "relu", "max(x, 0)"));
  r.add(make_layer<NoArgs, build_activation<torch::nn::Sigmoid>>("sigmoid", "sigmoid",
                                                                 "1 / (1 + e^-x)"));
  r.add(
      make_layer<NoArgs, build_activation<torch::nn::Tanh>>("tanh", "tanh", "hyperbolic tangent"));
  r.add(make_layer<NoArgs, build_activation<torch::nn::GELU>>("gelu", "gelu",
                                                              "Gaussian error linear unit"));
  r.add(make_layer<LeakyReluArgs, build_leaky_relu>("leaky_relu", "leakyrelu",
                                                    "x, or slope * x below 0"));
  register_modern_layers(r);
  register_window_layers(r);
}

}  // namespace dlx::nn
