// Each layer type's ONNX form: the operators (opset 11 and later) that compute what its LibTorch
// module computes in evaluation mode, its weights written under their checkpoint keys.
#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/tensor.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/pooling.h>

#include <cmath>

#include "framework/export/graph.h"
#include "framework/nn/layers.h"
#include "framework/nn/modules.h"
#include "framework/nn/windows.h"

namespace dlx::onnx_export {

namespace {

template <class M>
const M& as(const LayerNode& n) {
  const auto* m = dynamic_cast<const M*>(&n.module);
  if (!m)
    throw std::logic_error("layer " + n.path + " (" + n.type +
                           ") is not the module its type builds");
  return *m;
}

// By value: named_parameters() returns a dictionary of its own, gone after the call.
at::Tensor parameter(const LayerNode& n, const std::string& name) {
  const auto parameters = n.module.named_parameters(false);
  if (const at::Tensor* t = parameters.find(name)) return *t;
  const auto buffers = n.module.named_buffers(false);
  if (const at::Tensor* t = buffers.find(name)) return *t;
  throw std::logic_error("layer " + n.path + " has no " + name);
}

std::string weight_of(GraphWriter& g, const LayerNode& n, const std::string& name) {
  return g.weight(n.path + "." + name, parameter(n, name));
}

std::vector<int64_t> vec(const torch::ExpandingArray<2>& a) {
  return {a->begin(), a->end()};
}

std::string scalar(GraphWriter& g, const std::string& name, float value) {
  return g.weight(name, at::full({}, value, at::kFloat));
}

// 0.5 x (1 + erf(x / sqrt 2)): ONNX has no Gelu operator before opset 20.
std::string gelu(GraphWriter& g, const std::string& name, const std::string& x) {
  const std::string scaled =
      g.node("Div", name + "/scaled", {x, scalar(g, name + "/sqrt2", float(std::sqrt(2.0)))});
  const std::string erf = g.node("Erf", name + "/erf", {scaled});
  const std::string one = g.node("Add", name + "/one_plus", {erf, scalar(g, name + "/one", 1.0f)});
  const std::string times = g.node("Mul", name + "/times_x", {x, one});
  return g.node("Mul", name, {times, scalar(g, name + "/half", 0.5f)});
}

std::string activation(GraphWriter& g, const std::string& name, const std::string& x,
                       nn::Activation a,
                       double leaky_slope = torch::nn::LeakyReLUOptions().negative_slope()) {
  switch (a) {
    case nn::Activation::kReLU:
      return g.node("Relu", name, {x});
    case nn::Activation::kSigmoid:
      return g.node("Sigmoid", name, {x});
    case nn::Activation::kTanh:
      return g.node("Tanh", name, {x});
    case nn::Activation::kGELU:
      return gelu(g, name, x);
    case nn::Activation::kLeakyReLU:
      return g.node("LeakyRelu", name, {x}, {real("alpha", float(leaky_slope))});
    case nn::Activation::kSiLU:
      return g.node("Mul", name, {x, g.node("Sigmoid", name + "/sigmoid", {x})});
    case nn::Activation::kHardsigmoid:  // relu6(x + 3) / 6 = clip(x / 6 + 1/2, 0, 1)
      return g.node("HardSigmoid", name, {x}, {real("alpha", 1.0f / 6), real("beta", 0.5f)});
    case nn::Activation::kHardswish:
      return g.node("Mul", name,
                    {x, g.node("HardSigmoid", name + "/gate", {x},
                               {real("alpha", 1.0f / 6), real("beta", 0.5f)})});
    case nn::Activation::kReLU6: {
      // relu(x) - relu(x - 6): Clip's bounds are inputs from opset 11 on, which OpenCV 4.6's
      // importer refuses.
      const std::string shifted =
          g.node("Relu", name + "/over",
                 {g.node("Sub", name + "/minus6", {x, scalar(g, name + "/six", 6.0f)})});
      return g.node("Sub", name, {g.node("Relu", name + "/relu", {x}), shifted});
    }
    case nn::Activation::kNone:
      break;
  }
  return x;
}

std::string conv2d(GraphWriter& g, const LayerNode& n) {
  const auto& m = as<nn::Conv2dActImpl>(n);
  const auto& o = m.options;
  const nn::Padding2d& p = m.padding();
  std::vector<std::string> inputs{n.x, weight_of(g, n, "weight")};
  if (o.bias()) inputs.push_back(weight_of(g, n, "bias"));
  const std::string name = m.activation() == nn::Activation::kNone ? n.path : n.path + "/conv";
  const std::string y =
      g.node("Conv", name, inputs,
             {ints("kernel_shape", vec(o.kernel_size())), ints("strides", vec(o.stride())),
              ints("dilations", vec(o.dilation())),
              ints("pads", {p.top, p.left, p.bottom, p.right}), integer("group", o.groups())});
  if (m.activation() == nn::Activation::kNone) return y;
  return activation(g, n.path, y, m.activation());
}

// x W^T + b over the last dimension, for inputs of any rank (Gemm takes matrices only); the
// weight is stored transposed under its checkpoint key.
std::string linear(GraphWriter& g, const std::string& name, const std::string& x,
                   const std::string& key, const at::Tensor& weight, const at::Tensor& bias) {
  const std::string w = g.weight(key + ".weight", weight.t().contiguous());
  if (!bias.defined()) return g.node("MatMul", name, {x, w});
  return g.node("Add", name,
                {g.node("MatMul", name + "/matmul", {x, w}), g.weight(key + ".bias", bias)});
}

std::string dense(GraphWriter& g, const LayerNode& n) {
  const auto& m = as<nn::DenseImpl>(n);
  const std::string name = m.activation() == nn::Activation::kNone ? n.path : n.path + "/gemm";
  std::string y;
  if (!m.flatten() && n.input.size() > 1) {
    y = linear(g, name, n.x, n.path, m.weight, m.options.bias() ? m.bias : at::Tensor());
  } else {
    std::string x = n.x;
    if (n.input.size() > 1) x = g.node("Flatten", n.path + "/flatten", {x}, {integer("axis", 1)});
    std::vector<std::string> inputs{x, weight_of(g, n, "weight")};
    if (m.options.bias()) inputs.push_back(weight_of(g, n, "bias"));
    y = g.node("Gemm", name, inputs, {integer("transB", 1)});
  }
  if (m.activation() == nn::Activation::kNone) return y;
  return activation(g, n.path, y, m.activation());
}

// ONNX's output count for a pooling window, which rounds up in ceil mode with no PyTorch rule
// that the last window must start inside the input or its left padding.
int64_t onnx_windows(int64_t size, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation,
                     bool ceil_mode) {
  const int64_t span = size + 2 * pad - dilation * (kernel - 1) - 1;
  return (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
}

// Pooling's ceil_mode as ONNX is told it: off when rounding up adds no window (so no runtime's
// ceil-mode rules matter), on when ONNX's count of windows is PyTorch's; else the layer cannot
// be written.
int64_t ceil_attribute(const LayerNode& n, const std::vector<int64_t>& kernel,
                       const std::vector<int64_t>& stride, const std::vector<int64_t>& pad,
                       const std::vector<int64_t>& dilation, bool ceil_mode, bool may_overhang) {
  if (!ceil_mode) return 0;
  bool adds = false, agrees = true;
  for (int d = 0; d < 2; ++d) {
    const int64_t in = n.input[1 + d], out = n.output[1 + d];
    adds |= onnx_windows(in, kernel[d], stride[d], pad[d], dilation[d], false) != out;
    agrees &= onnx_windows(in, kernel[d], stride[d], pad[d], dilation[d], true) == out;
  }
  if (!adds) return 0;
  if (!agrees || !may_overhang)
    throw Unexportable("ceil_mode makes a last window that runs past the input, which ONNX's " +
                       std::string(may_overhang ? "MaxPool counts differently"
                                                : "AveragePool divides differently") +
                       " (set ceil_mode: false, or padding, so that the windows fit)");
  return 1;
}

std::string maxpool2d(GraphWriter& g, const LayerNode& n) {
  const auto& o = as<torch::nn::MaxPool2dImpl>(n).options;
  const auto kernel = vec(o.kernel_size()), stride = vec(o.stride()), pad = vec(o.padding()),
             dilation = vec(o.dilation());
  const int64_t ceil = ceil_attribute(n, kernel, stride, pad, dilation, o.ceil_mode(), true);
  return g.node("MaxPool", n.path, {n.x},
                {ints("kernel_shape", kernel), ints("strides", stride),
                 ints("pads", {pad[0], pad[1], pad[0], pad[1]}), ints("dilations", dilation),
                 integer("ceil_mode", ceil)});
}

std::string avgpool2d(GraphWriter& g, const LayerNode& n) {
  const auto& o = as<torch::nn::AvgPool2dImpl>(n).options;
  const auto kernel = vec(o.kernel_size()), stride = vec(o.stride()), pad = vec(o.padding());
  ceil_attribute(n, kernel, stride, pad, {1, 1}, o.ceil_mode(), false);
  return g.node("AveragePool", n.path, {n.x},
                {ints("kernel_shape", kernel), ints("strides", stride),
                 ints("pads", {pad[0], pad[1], pad[0], pad[1]}),
                 integer("count_include_pad", o.count_include_pad() ? 1 : 0)});
}

// PyTorch's adaptive bins are equal windows when each output size divides the input's.
std::string adaptive_avgpool2d(GraphWriter& g, const LayerNode& n) {
  const int64_t ih = n.input[1], iw = n.input[2], oh = n.output[1], ow = n.output[2];
  if (oh == 1 && ow == 1) return g.node("GlobalAveragePool", n.path, {n.x});
  if (ih % oh != 0 || iw % ow != 0)
    throw Unexportable("output " + std::to_string(oh) + "x" + std::to_string(ow) +
                       " does not divide the input " + std::to_string(ih) + "x" +
                       std::to_string(iw) +
                       ", so its windows are unequal, which ONNX's pooling "
                       "cannot express");
  return g.node("AveragePool", n.path, {n.x},
                {ints("kernel_shape", {ih / oh, iw / ow}), ints("strides", {ih / oh, iw / ow})});
}

// PyTorch's window has size/2 channels before and (size-1)/2 after; ONNX's has (size-1)/2
// before and size/2 after: the same for odd sizes only.
std::string local_response_norm(GraphWriter& g, const LayerNode& n) {
  const auto& o = as<torch::nn::LocalResponseNormImpl>(n).options;
  if (o.size() % 2 == 0)
    throw Unexportable("an even size (" + std::to_string(o.size()) +
                       ") centres PyTorch's window differently from ONNX's LRN (use an odd size)");
  return g.node("LRN", n.path, {n.x},
                {real("alpha", float(o.alpha())), real("beta", float(o.beta())),
                 real("bias", float(o.k())), integer("size", o.size())});
}

// In evaluation mode, with the running statistics (scale 1 and shift 0 when not affine).
template <class BatchNorm>
std::string batchnorm(GraphWriter& g, const LayerNode& n) {
  const auto& o = as<BatchNorm>(n).options;
  if (!o.track_running_stats())
    throw Unexportable(
        "track_running_stats: false normalises with each batch's own statistics "
        "at inference too, which an exported model cannot");
  const int64_t c = n.input[0];
  const std::string scale = o.affine() ? weight_of(g, n, "weight")
                                       : g.weight(n.path + ".weight", at::ones({c}, at::kFloat));
  const std::string shift =
      o.affine() ? weight_of(g, n, "bias") : g.weight(n.path + ".bias", at::zeros({c}, at::kFloat));
  return g.node(
      "BatchNormalization", n.path,
      {n.x, scale, shift, weight_of(g, n, "running_mean"), weight_of(g, n, "running_var")},
      {real("epsilon", float(o.eps()))});
}

std::string plain_activation(GraphWriter& g, const LayerNode& n) {
  static const std::map<std::string, nn::Activation> by_type{{"relu", nn::Activation::kReLU},
                                                             {"sigmoid", nn::Activation::kSigmoid},
                                                             {"tanh", nn::Activation::kTanh},
                                                             {"gelu", nn::Activation::kGELU}};
  return activation(g, n.path, n.x, by_type.at(n.type));
}

std::string activation_layer(GraphWriter& g, const LayerNode& n) {
  return activation(g, n.path, n.x, as<nn::ActivationLayerImpl>(n).activation());
}

std::string int64s(GraphWriter& g, const std::string& name, const std::vector<int64_t>& values) {
  return g.weight(name, at::tensor(values, at::kLong));
}

// (x - mean) / sqrt(var + eps) over `axis`, then scaled and shifted (already shaped to
// broadcast): LayerNormalization is opset 17's, this is every opset's.
std::string normalize(GraphWriter& g, const std::string& name, const std::string& x, int64_t axis,
                      double eps, const std::string& scale, const std::string& shift) {
  const std::string mean = g.node("ReduceMean", name + "/mean", {x}, {ints("axes", {axis})});
  const std::string centred = g.node("Sub", name + "/centred", {x, mean});
  const std::string square = g.node("Mul", name + "/square", {centred, centred});
  const std::string var = g.node("ReduceMean", name + "/var", {square}, {ints("axes", {axis})});
  const std::string std =
      g.node("Sqrt", name + "/std",
             {g.node("Add", name + "/var_eps", {var, scalar(g, name + "/eps", float(eps))})});
  std::string y = g.node("Div", scale.empty() ? name : name + "/normalized", {centred, std});
  if (scale.empty()) return y;
  return g.node("Add", name, {g.node("Mul", name + "/scaled", {y, scale}), shift});
}

std::string layernorm(GraphWriter& g, const LayerNode& n) {
  const auto& m = as<nn::LayerNormImpl>(n);
  std::string scale, shift;
  if (m.affine()) {
    const int64_t c = m.weight.size(0);
    const std::vector<int64_t> shape =
        m.channels() ? std::vector<int64_t>{c, 1, 1} : std::vector<int64_t>{c};
    scale = g.weight(n.path + ".weight", m.weight.view(shape));
    shift = g.weight(n.path + ".bias", m.bias.view(shape));
  }
  return normalize(g, n.path, n.x, m.channels() ? 1 : -1, m.eps(), scale, shift);
}

// Each group's channels as one instance of InstanceNormalization: C x H x W viewed as
// G x (C / G * H) x W, normalised per group, viewed back, then scaled per channel.
std::string groupnorm(GraphWriter& g, const LayerNode& n) {
  const auto& m = as<torch::nn::GroupNormImpl>(n);
  const auto& o = m.options;
  const int64_t c = n.input[0], h = n.input[1], w = n.input[2], groups = o.num_groups();
  const std::string grouped =
      g.node("Reshape", n.path + "/groups",
             {n.x, int64s(g, n.path + "/groups_shape", {0, groups, c / groups * h, w})});
  const std::string normed = g.node("InstanceNormalization", n.path + "/norm",
                                    {grouped, g.weight(n.path + "/ones", at::ones({groups})),
                                     g.weight(n.path + "/zeros", at::zeros({groups}))},
                                    {real("epsilon", float(o.eps()))});
  const std::string y = g.node("Reshape", o.affine() ? n.path + "/back" : n.path,
                               {normed, int64s(g, n.path + "/back_shape", {0, c, h, w})});
  if (!o.affine()) return y;
  return g.node("Add", n.path,
                {g.node("Mul", n.path + "/scaled",
                        {y, g.weight(n.path + ".weight", m.weight.view({c, 1, 1}))}),
                 g.weight(n.path + ".bias", m.bias.view({c, 1, 1}))});
}

// A bare parameter's initialiser takes the layer's own name (its checkpoint key), so the
// layer's output is named after it with a suffix.
std::string layer_scale(GraphWriter& g, const LayerNode& n) {
  return g.node("Mul", n.path + "/scaled",
                {n.x, g.weight(n.path, as<nn::LayerScaleImpl>(n).scale)});
}

std::string channel_shuffle(GraphWriter& g, const LayerNode& n) {
  const int64_t groups = as<nn::ChannelShuffleImpl>(n).groups();
  const int64_t c = n.input[0], h = n.input[1], w = n.input[2];
  // Four dimensions, not five: OpenCV 4.6's importer reshapes only up to four.
  const std::string split =
      g.node("Reshape", n.path + "/split",
             {n.x, int64s(g, n.path + "/split_shape", {0, groups, c / groups, h * w})});
  const std::string swapped =
      g.node("Transpose", n.path + "/swap", {split}, {ints("perm", {0, 2, 1, 3})});
  return g.node("Reshape", n.path, {swapped, int64s(g, n.path + "/shape", {0, c, h, w})});
}

std::string channel_split(GraphWriter& g, const LayerNode& n) {
  const auto& m = as<nn::ChannelSplitImpl>(n);
  const int64_t part = n.input[0] / m.parts();
  return g.node(
      "Slice", n.path,
      {n.x, int64s(g, n.path + "/starts", {m.index() * part}),
       int64s(g, n.path + "/ends", {(m.index() + 1) * part}), int64s(g, n.path + "/axes", {1})});
}

std::string permute(GraphWriter& g, const LayerNode& n) {
  std::vector<int64_t> perm{0};
  for (int64_t d : as<nn::PermuteImpl>(n).dims()) perm.push_back(d + 1);
  return g.node("Transpose", n.path, {n.x}, {ints("perm", perm)});
}

std::string tokens(GraphWriter& g, const LayerNode& n) {
  const std::string flat =
      g.node("Reshape", n.path + "/flat", {n.x, int64s(g, n.path + "/shape", {0, n.input[0], -1})});
  return g.node("Transpose", n.path, {flat}, {ints("perm", {0, 2, 1})});
}

// The token, broadcast to the batch (the first token's row times zero, plus the token: no
// Shape or Expand, which OpenCV's importer cannot follow), and put first.
std::string class_token(GraphWriter& g, const LayerNode& n) {
  const auto& m = as<nn::ClassTokenImpl>(n);
  const std::string first =
      g.node("Slice", n.path + "/first",
             {n.x, int64s(g, n.path + "/starts", {0}), int64s(g, n.path + "/ends", {1}),
              int64s(g, n.path + "/axes", {1})});
  const std::string zero =
      g.node("Mul", n.path + "/zero", {first, scalar(g, n.path + "/zero_", 0.0f)});
  const std::string token = g.node("Add", n.path + "/token", {zero, g.weight(n.path, m.token)});
  return g.node("Concat", n.path + "/joined", {token, n.x}, {integer("axis", 1)});
}

// q, k and v of a packed projection (-1, t, 3 heads hd), each (-1, heads, t, hd).
std::array<std::string, 3> split_heads(GraphWriter& g, const std::string& p, const std::string& qkv,
                                       int64_t t, int64_t heads, int64_t hd) {
  const std::string split = g.node(
      "Transpose", p + "/heads",
      {g.node("Reshape", p + "/split", {qkv, int64s(g, p + "/qkv_shape", {-1, t, 3, heads, hd})})},
      {ints("perm", {2, 0, 3, 1, 4})});
  // Gather with a one-element index keeps a leading dimension of 1: squeezed by the reshapes.
  auto part = [&](int64_t i, const std::string& what) {
    return g.node("Reshape", p + "/" + what,
                  {g.node("Gather", p + "/" + what + "_1",
                          {split, int64s(g, p + "/" + what + "_index", {i})}, {integer("axis", 0)}),
                   int64s(g, p + "/" + what + "_shape", {-1, heads, t, hd})});
  };
  return {part(0, "q"), part(1, "k"), part(2, "v")};
}

std::string attention(GraphWriter& g, const LayerNode& n) {
  const auto& m = as<nn::MultiheadAttentionImpl>(n);
  const int64_t t = n.input[0], d = n.input[1], heads = m.heads(), hd = d / heads;
  const std::string p = n.path;
  // The in-projection, stored as the checkpoint names it (in_proj_weight), applied transposed.
  std::string qkv =
      g.node("MatMul", p + "/qkv",
             {n.x, g.weight(p + ".in_proj_weight", m.in_proj_weight.t().contiguous())});
  if (m.in_proj_bias.defined())
    qkv = g.node("Add", p + "/qkv_bias", {qkv, g.weight(p + ".in_proj_bias", m.in_proj_bias)});
  const auto [q, k, v] = split_heads(g, p, qkv, t, heads, hd);
  const std::string kt = g.node("Transpose", p + "/kt", {k}, {ints("perm", {0, 1, 3, 2})});
  const std::string scores = g.node("Div", p + "/scores",
                                    {g.node("MatMul", p + "/qk", {q, kt}),
                                     scalar(g, p + "/sqrt_d", float(std::sqrt(double(hd))))});
  const std::string weights = g.node("Softmax", p + "/softmax", {scores}, {integer("axis", 3)});
  const std::string mixed =
      g.node("Reshape", p + "/mixed",
             {g.node("Transpose", p + "/mixed_t", {g.node("MatMul", p + "/av", {weights, v})},
                     {ints("perm", {0, 2, 1, 3})}),
              int64s(g, p + "/mixed_shape", {0, t, d})});
  return linear(g, p, mixed, p + ".out_proj", m.out_proj->weight,
                m.out_proj->options.bias() ? m.out_proj->bias : at::Tensor());
}

// torch.roll along `axis` by `by` (positive: towards the end): the tail slice, then the head.
std::string roll(GraphWriter& g, const std::string& name, const std::string& x, int64_t axis,
                 int64_t size, int64_t by) {
  by = ((by % size) + size) % size;
  if (by == 0) return x;
  auto slice = [&](const char* part, int64_t from, int64_t to) {
    return g.node("Slice", name + "/" + part,
                  {x, int64s(g, name + "/" + part + "_starts", {from}),
                   int64s(g, name + "/" + part + "_ends", {to}),
                   int64s(g, name + "/" + part + "_axes", {axis})});
  };
  return g.node("Concat", name, {slice("tail", size - by, size), slice("head", 0, size - by)},
                {integer("axis", axis)});
}

// A relative position bias, heads x N x N: the rows of `table` (one per relative position, a
// column per head) that the buffer `index` picks for each pair of tokens.
std::string position_bias(GraphWriter& g, const std::string& p, const std::string& table,
                          const at::Tensor& index, int64_t t, int64_t heads) {
  const std::string rows =
      g.node("Gather", p + "/bias_rows", {table, g.weight(p + ".relative_position_index", index)},
             {integer("axis", 0)});
  return g.node(
      "Transpose", p + "/bias_heads",
      {g.node("Reshape", p + "/bias_square", {rows, int64s(g, p + "/square", {t, t, heads})})},
      {ints("perm", {2, 0, 1})});
}

// The bias each head adds to its scores in a window, heads x N x N (V2: the table is cpb_mlp of
// the coordinates, then 16 sigmoid).
std::string window_position_bias(GraphWriter& g, const LayerNode& n, nn::WindowAttentionImpl& m) {
  const std::string p = n.path;
  const int64_t heads = m.options().heads, t = m.options().window.h * m.options().window.w;
  std::string table;
  if (m.options().cosine) {
    const auto& first = m.cpb_mlp[0]->as<torch::nn::Linear>();
    const auto& last = m.cpb_mlp[2]->as<torch::nn::Linear>();
    const std::string coords = g.weight(p + ".relative_coords_table", m.relative_coords_table);
    const std::string hidden =
        g.node("Relu", p + "/cpb_relu",
               {linear(g, p + "/cpb_0", coords, p + ".cpb_mlp.0", first->weight, first->bias)});
    table = g.node("Reshape", p + "/cpb_table",
                   {linear(g, p + "/cpb_2", hidden, p + ".cpb_mlp.2", last->weight, at::Tensor()),
                    int64s(g, p + "/cpb_shape", {-1, heads})});
  } else {
    table = g.weight(p + ".relative_position_bias_table", m.relative_position_bias_table);
  }
  const std::string bias = position_bias(g, p, table, m.relative_position_index, t, heads);
  if (!m.options().cosine) return bias;
  return g.node("Mul", p + "/bias",
                {g.node("Sigmoid", p + "/bias_sigmoid", {bias}), scalar(g, p + "/sixteen", 16)});
}

// x / max(|x|, 1e-12) over the last axis, as F.normalize.
std::string unit_rows(GraphWriter& g, const std::string& name, const std::string& x) {
  const std::string norm = g.node("ReduceL2", name + "/norm", {x}, {ints("axes", {-1})});
  return g.node("Div", name,
                {x, g.node("Max", name + "/norm_eps", {norm, scalar(g, name + "/eps", 1e-12f)})});
}

// torchvision's shifted_window_attention with the image's size known: pad, roll, windows as a
// batch, attention with the position bias and the shift's mask, back, roll back, crop.
std::string window_attention(GraphWriter& g, const LayerNode& n) {
  auto& m = const_cast<nn::WindowAttentionImpl&>(as<nn::WindowAttentionImpl>(n));
  const auto& o = m.options();
  const std::string p = n.path;
  const int64_t h = n.input[0], w = n.input[1], c = n.input[2], heads = o.heads, hd = c / heads;
  const nn::Pair win = o.window;
  const nn::Pair padded{(h + win.h - 1) / win.h * win.h, (w + win.w - 1) / win.w * win.w};
  const nn::Pair shift = m.shift_for(padded);
  const int64_t rows = padded.h / win.h, cols = padded.w / win.w, t = win.h * win.w;
  std::string x = n.x;
  if (padded.h > h || padded.w > w)
    x = g.node("Pad", p + "/pad",
               {x, int64s(g, p + "/pads", {0, 0, 0, 0, 0, padded.h - h, padded.w - w, 0})});
  x = roll(g, p + "/roll_h", x, 1, padded.h, -shift.h);
  x = roll(g, p + "/roll_w", x, 2, padded.w, -shift.w);
  x = g.node("Transpose", p + "/windows_t",
             {g.node("Reshape", p + "/windows_split",
                     {x, int64s(g, p + "/split_shape", {-1, rows, win.h, cols, win.w, c})})},
             {ints("perm", {0, 1, 3, 2, 4, 5})});
  x = g.node("Reshape", p + "/windows", {x, int64s(g, p + "/windows_shape", {-1, t, c})});

  std::string qkv = g.node("MatMul", p + "/qkv",
                           {x, g.weight(p + ".qkv.weight", m.qkv->weight.t().contiguous())});
  if (m.qkv->options.bias()) {
    std::string bias = g.weight(p + ".qkv.bias", m.qkv->bias);
    if (o.cosine) {  // V2 learns no key bias: the middle third is masked out
      at::Tensor keep = at::ones({3 * c});
      keep.slice(0, c, 2 * c).zero_();
      bias = g.node("Mul", p + "/qkv_bias_kept", {bias, g.weight(p + "/qkv_bias_mask", keep)});
    }
    qkv = g.node("Add", p + "/qkv_biased", {qkv, bias});
  }
  auto [q, k, v] = split_heads(g, p, qkv, t, heads, hd);
  std::string scores;
  if (o.cosine) {
    q = unit_rows(g, p + "/q_unit", q);
    k = unit_rows(g, p + "/k_unit", k);
    const std::string scale = g.node("Exp", p + "/logit_scale_exp",
                                     {g.node("Min", p + "/logit_scale_clamped",
                                             {g.weight(p + ".logit_scale", m.logit_scale),
                                              scalar(g, p + "/log100", float(std::log(100.0)))})});
    scores = g.node("Mul", p + "/scores_scaled",
                    {g.node("MatMul", p + "/qk",
                            {q, g.node("Transpose", p + "/kt", {k}, {ints("perm", {0, 1, 3, 2})})}),
                     scale});
  } else {
    q = g.node("Mul", p + "/q_scaled", {q, scalar(g, p + "/scale", float(std::pow(hd, -0.5)))});
    scores = g.node("MatMul", p + "/qk",
                    {q, g.node("Transpose", p + "/kt", {k}, {ints("perm", {0, 1, 3, 2})})});
  }
  scores = g.node("Add", p + "/scores_biased", {scores, window_position_bias(g, n, m)});
  if (shift.h + shift.w > 0) {
    const at::Tensor mask = m.shift_mask(padded, shift, at::kFloat).unsqueeze(1);
    scores = g.node(
        "Reshape", p + "/scores_masked",
        {g.node("Add", p + "/scores_mask",
                {g.node("Reshape", p + "/scores_per_window",
                        {scores, int64s(g, p + "/per_window", {-1, rows * cols, heads, t, t})}),
                 g.weight(p + "/shift_mask", mask)}),
         int64s(g, p + "/per_head", {-1, heads, t, t})});
  }
  const std::string weights = g.node("Softmax", p + "/softmax", {scores}, {integer("axis", 3)});
  x = g.node("Reshape", p + "/mixed",
             {g.node("Transpose", p + "/mixed_t", {g.node("MatMul", p + "/av", {weights, v})},
                     {ints("perm", {0, 2, 1, 3})}),
              int64s(g, p + "/mixed_shape", {-1, t, c})});
  x = linear(g, p + "/proj", x, p + ".proj", m.proj->weight,
             m.proj->options.bias() ? m.proj->bias : at::Tensor());
  x = g.node("Transpose", p + "/image_t",
             {g.node("Reshape", p + "/image_split",
                     {x, int64s(g, p + "/image_split_shape", {-1, rows, cols, win.h, win.w, c})})},
             {ints("perm", {0, 1, 3, 2, 4, 5})});
  x = g.node("Reshape", p + "/image",
             {x, int64s(g, p + "/image_shape", {-1, padded.h, padded.w, c})});
  x = roll(g, p + "/unroll_h", x, 1, padded.h, shift.h);
  x = roll(g, p + "/unroll_w", x, 2, padded.w, shift.w);
  if (padded.h == h && padded.w == w) return x;
  return g.node("Slice", p + "/crop",
                {x, int64s(g, p + "/crop_starts", {0, 0}), int64s(g, p + "/crop_ends", {h, w}),
                 int64s(g, p + "/crop_axes", {1, 2})});
}

// Pads an odd side, then the four strided slices side by side on the channels.
std::string patch_merge(GraphWriter& g, const LayerNode& n) {
  const std::string p = n.path;
  const int64_t h = n.input[0], w = n.input[1];
  std::string x = n.x;
  if (h % 2 + w % 2 > 0)
    x = g.node("Pad", p + "/pad", {x, int64s(g, p + "/pads", {0, 0, 0, 0, 0, h % 2, w % 2, 0})});
  auto at = [&](int64_t row, int64_t col) {
    const std::string part = p + "/" + std::to_string(row) + std::to_string(col);
    return g.node(
        "Slice", part,
        {x, int64s(g, part + "_starts", {row, col}), int64s(g, part + "_ends", {h + 1, w + 1}),
         int64s(g, part + "_axes", {1, 2}), int64s(g, part + "_steps", {2, 2})});
  };
  return g.node("Concat", p, {at(0, 0), at(1, 0), at(0, 1), at(1, 1)}, {integer("axis", -1)});
}

// MaxViT's partition or departition: the sides split, one transpose, the result's shape.
std::string partition(GraphWriter& g, const LayerNode& n) {
  const auto& m = as<nn::PartitionImpl>(n);
  auto batched = [](std::vector<int64_t> dims) {
    dims.insert(dims.begin(), -1);
    return dims;
  };
  const std::string split =
      g.node("Reshape", n.path + "/split",
             {n.x, int64s(g, n.path + "/split_shape", batched(m.split(n.input)))});
  return g.node("Reshape", n.path,
                {g.node("Transpose", n.path + "/moved", {split}, {ints("perm", m.order())}),
                 int64s(g, n.path + "/shape", batched(m.output(n.input)))});
}

// torchvision's RelativePositionalMultiHeadAttention with every partition as one batch of t
// tokens: keys scaled by the width's D^-1/2, the position bias added before the softmax.
std::string relative_attention(GraphWriter& g, const LayerNode& n) {
  auto& m = const_cast<nn::RelativeAttentionImpl&>(as<nn::RelativeAttentionImpl>(n));
  const std::string p = n.path;
  const int64_t t = n.input[n.input.size() - 2], d = n.input.back(), heads = m.heads();
  const std::string x =
      g.node("Reshape", p + "/partitions", {n.x, int64s(g, p + "/partitions_shape", {-1, t, d})});
  const std::string qkv =
      linear(g, p + "/to_qkv", x, p + ".to_qkv", m.to_qkv->weight, m.to_qkv->bias);
  const auto [q, k, v] = split_heads(g, p, qkv, t, heads, d / heads);
  const std::string k_scaled =
      g.node("Mul", p + "/k_scaled", {k, scalar(g, p + "/scale", float(std::pow(d, -0.5)))});
  const std::string scores = g.node(
      "Add", p + "/scores_biased",
      {g.node("MatMul", p + "/qk",
              {q, g.node("Transpose", p + "/kt", {k_scaled}, {ints("perm", {0, 1, 3, 2})})}),
       position_bias(g, p,
                     g.weight(p + ".relative_position_bias_table", m.relative_position_bias_table),
                     m.relative_position_index, t, heads)});
  const std::string weights = g.node("Softmax", p + "/softmax", {scores}, {integer("axis", 3)});
  const std::string mixed =
      g.node("Reshape", p + "/mixed",
             {g.node("Transpose", p + "/mixed_t", {g.node("MatMul", p + "/av", {weights, v})},
                     {ints("perm", {0, 2, 1, 3})}),
              int64s(g, p + "/mixed_shape", {-1, t, d})});
  std::vector<int64_t> shape{-1};
  shape.insert(shape.end(), n.input.begin(), n.input.end());
  return g.node("Reshape", p,
                {linear(g, p + "/merge", mixed, p + ".merge", m.merge->weight, m.merge->bias),
                 int64s(g, p + "/shape", shape)});
}

}  // namespace

const std::map<std::string, LayerExporter>& layer_exporters() {
  static const std::map<std::string, LayerExporter> table{
      {"conv2d", conv2d},
      {"maxpool2d", maxpool2d},
      {"avgpool2d", avgpool2d},
      {"adaptive_avgpool2d", adaptive_avgpool2d},
      {"local_response_norm", local_response_norm},
      {"batchnorm2d", batchnorm<torch::nn::BatchNorm2dImpl>},
      {"batchnorm1d", batchnorm<torch::nn::BatchNorm1dImpl>},
      {"dropout", [](GraphWriter&, const LayerNode& n) { return n.x; }},  // evaluation mode
      {"flatten",
       [](GraphWriter& g, const LayerNode& n) {
         return g.node("Flatten", n.path, {n.x}, {integer("axis", 1)});
       }},
      {"dense", dense},
      {"relu", plain_activation},
      {"sigmoid", plain_activation},
      {"tanh", plain_activation},
      {"gelu", plain_activation},
      {"leaky_relu",
       [](GraphWriter& g, const LayerNode& n) {
         const auto& o = as<torch::nn::LeakyReLUImpl>(n).options;
         return activation(g, n.path, n.x, nn::Activation::kLeakyReLU, o.negative_slope());
       }},
      {"silu", activation_layer},
      {"hardswish", activation_layer},
      {"hardsigmoid", activation_layer},
      {"relu6", activation_layer},
      {"layernorm", layernorm},
      {"groupnorm", groupnorm},
      {"stochastic_depth", [](GraphWriter&, const LayerNode& n) { return n.x; }},  // evaluation
      {"layer_scale", layer_scale},
      {"channel_shuffle", channel_shuffle},
      {"channel_split", channel_split},
      {"permute", permute},
      {"tokens", tokens},
      {"class_token", class_token},
      {"position_embedding",
       [](GraphWriter& g, const LayerNode& n) {
         return g.node("Add", n.path + "/added",
                       {n.x, g.weight(n.path, as<nn::PositionEmbeddingImpl>(n).embedding)});
       }},
      {"multihead_attention", attention},
      {"window_attention", window_attention},
      {"patch_merge", patch_merge},
      {"partition", partition},
      {"departition", partition},
      {"relative_attention", relative_attention},
      {"select_token",
       [](GraphWriter& g, const LayerNode& n) {
         const int64_t index = as<nn::SelectTokenImpl>(n).index();
         return g.node("Gather", n.path,
                       {n.x, g.weight(n.path + "/index", at::scalar_tensor(index, at::kLong))},
                       {integer("axis", 1)});
       }},
  };
  return table;
}

}  // namespace dlx::onnx_export
