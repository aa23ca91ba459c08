// The layer types of windowed attention. Swin's (torchvision's swin_transformer.py):
// window_attention, self-attention inside shifted windows of a channels-last image, and
// patch_merge, its 2 x 2 downsampling. MaxViT's (maxvit.py): partition and departition, an image
// cut into windows or a grid and put back, and relative_attention within each partition. Each
// follows torchvision's function step for step, so that its weights give torchvision's outputs.
#include <torch/nn/functional/normalization.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>

#include <cmath>

#include "framework/nn/layer_kit.h"
#include "framework/nn/windows.h"

namespace dlx::nn {

namespace {

torch::nn::Linear linear(int64_t in, int64_t out, bool bias) {
  // SwinTransformer's initialisation of every Linear: N(0, 0.02) (truncated at +-2, which at
  // this deviation truncates nothing), zero biases.
  torch::nn::Linear l(torch::nn::LinearOptions(in, out).bias(bias));
  torch::nn::init::normal_(l->weight, 0, 0.02);
  if (bias) torch::nn::init::zeros_(l->bias);
  return l;
}

// Row i * N + j: the table row of token j's position relative to token i's in a window.
torch::Tensor position_index(Pair w) {
  const int64_t n = w.h * w.w;
  torch::Tensor index = torch::empty({n * n}, torch::kLong);
  auto* out = index.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      out[i * n + j] =
          (i / w.w - j / w.w + w.h - 1) * (2 * w.w - 1) + (i % w.w - j % w.w + w.w - 1);
  return index;
}

// V2's log-spaced relative coordinates, computed with torchvision's own operations in float32
// so that the buffer is its bit for bit.
torch::Tensor coords_table(Pair w) {
  torch::Tensor h = torch::arange(-(w.h - 1), w.h, torch::kFloat);
  torch::Tensor v = torch::arange(-(w.w - 1), w.w, torch::kFloat);
  torch::Tensor table =
      torch::stack(torch::meshgrid({h, v}, "ij")).permute({1, 2, 0}).contiguous().unsqueeze(0);
  table.select(3, 0).div_(double(w.h - 1));
  table.select(3, 1).div_(double(w.w - 1));
  table.mul_(8);
  return torch::sign(table) * torch::log2(torch::abs(table) + 1.0) / 3.0;
}

// Which of torchvision's three slices along one side a position falls in after the shift
// (with no shift, Python's [-0:] makes the last slice the whole side).
int64_t region(int64_t y, int64_t padded, int64_t window, int64_t shift) {
  if (shift == 0 || y >= padded - shift) return 2;
  return y < padded - window ? 0 : 1;
}

}  // namespace

WindowAttentionImpl::WindowAttentionImpl(const WindowAttentionOptions& o) : options_(o) {
  const Pair w = o.window;
  if (o.cosine) {
    logit_scale = register_parameter("logit_scale", torch::full({o.heads, 1, 1}, std::log(10.0)));
    relative_coords_table = register_buffer("relative_coords_table", coords_table(w));
  } else {
    relative_position_bias_table =
        register_parameter("relative_position_bias_table",
                           torch::empty({(2 * w.h - 1) * (2 * w.w - 1), o.heads}).normal_(0, 0.02));
  }
  relative_position_index = register_buffer("relative_position_index", position_index(w));
  qkv = register_module("qkv", linear(o.width, 3 * o.width, o.qkv_bias));
  proj = register_module("proj", linear(o.width, o.width, o.proj_bias));
  if (o.cosine) {
    cpb_mlp =
        register_module("cpb_mlp", torch::nn::Sequential(linear(2, 512, true), torch::nn::ReLU(),
                                                         linear(512, o.heads, false)));
  }
}

torch::Tensor WindowAttentionImpl::position_bias() {
  const int64_t n = options_.window.h * options_.window.w;
  torch::Tensor table = options_.cosine
                            ? cpb_mlp->forward(relative_coords_table).view({-1, options_.heads})
                            : relative_position_bias_table;
  torch::Tensor bias = table.index_select(0, relative_position_index)
                           .view({n, n, -1})
                           .permute({2, 0, 1})
                           .contiguous()
                           .unsqueeze(0);
  return options_.cosine ? 16 * torch::sigmoid(bias) : bias;
}

Pair WindowAttentionImpl::shift_for(Pair padded) const {
  const Pair w = options_.window;
  return {w.h >= padded.h ? 0 : options_.shift.h, w.w >= padded.w ? 0 : options_.shift.w};
}

torch::Tensor WindowAttentionImpl::shift_mask(Pair padded, Pair shift,
                                              const torch::TensorOptions& options) const {
  const Pair w = options_.window;
  torch::Tensor label = torch::empty({padded.h, padded.w}, torch::kFloat);
  auto* out = label.data_ptr<float>();
  for (int64_t y = 0; y < padded.h; ++y)
    for (int64_t x = 0; x < padded.w; ++x)
      out[y * padded.w + x] =
          float(region(y, padded.h, w.h, shift.h) * 3 + region(x, padded.w, w.w, shift.w));
  label = label.view({padded.h / w.h, w.h, padded.w / w.w, w.w})
              .permute({0, 2, 1, 3})
              .reshape({-1, w.h * w.w});
  torch::Tensor differ = label.unsqueeze(1) - label.unsqueeze(2);
  return torch::where(differ != 0, torch::full({}, -100.0f), torch::zeros({})).to(options);
}

torch::Tensor WindowAttentionImpl::forward(const torch::Tensor& input) {
  const WindowAttentionOptions& o = options_;
  const Pair w = o.window;
  const int64_t b = input.size(0), h = input.size(1), wd = input.size(2), c = input.size(3);
  const int64_t pad_b = (w.h - h % w.h) % w.h, pad_r = (w.w - wd % w.w) % w.w;
  torch::Tensor x =
      pad_b + pad_r > 0 ? torch::constant_pad_nd(input, {0, 0, 0, pad_r, 0, pad_b}) : input;
  const Pair padded{h + pad_b, wd + pad_r};
  const Pair shift = shift_for(padded);
  const bool shifted = shift.h + shift.w > 0;
  if (shifted) x = torch::roll(x, {-shift.h, -shift.w}, {1, 2});

  // Windows as a batch: (N nW, Wh Ww, C).
  const int64_t windows = (padded.h / w.h) * (padded.w / w.w), n = w.h * w.w;
  x = x.view({b, padded.h / w.h, w.h, padded.w / w.w, w.w, c})
          .permute({0, 1, 3, 2, 4, 5})
          .reshape({b * windows, n, c});

  torch::Tensor qkv_bias = qkv->options.bias() ? qkv->bias : torch::Tensor();
  if (o.cosine && qkv_bias.defined()) {  // V2 learns no key bias
    qkv_bias = qkv_bias.clone();
    qkv_bias.slice(0, c, 2 * c).zero_();
  }
  auto parts = torch::linear(x, qkv->weight, qkv_bias)
                   .reshape({x.size(0), n, 3, o.heads, c / o.heads})
                   .permute({2, 0, 3, 1, 4});
  torch::Tensor q = parts[0], k = parts[1], v = parts[2], attn;
  if (o.cosine) {
    namespace F = torch::nn::functional;
    auto unit = F::NormalizeFuncOptions().dim(-1);
    attn = torch::matmul(F::normalize(q, unit), F::normalize(k, unit).transpose(-2, -1)) *
           torch::clamp_max(logit_scale, std::log(100.0)).exp();
  } else {
    attn = torch::matmul(q * std::pow(double(c / o.heads), -0.5), k.transpose(-2, -1));
  }
  attn = attn + position_bias();
  if (shifted) {
    torch::Tensor mask = shift_mask(padded, shift, attn.options());
    attn = (attn.view({b, windows, o.heads, n, n}) + mask.unsqueeze(1).unsqueeze(0))
               .view({-1, o.heads, n, n});
  }
  attn = torch::softmax(attn, -1);
  if (is_training() && o.attention_dropout > 0)
    attn = torch::dropout(attn, o.attention_dropout, true);
  x = torch::matmul(attn, v).transpose(1, 2).reshape({x.size(0), n, c});
  x = proj->forward(x);
  if (is_training() && o.dropout > 0) x = torch::dropout(x, o.dropout, true);

  x = x.view({b, padded.h / w.h, padded.w / w.w, w.h, w.w, c})
          .permute({0, 1, 3, 2, 4, 5})
          .reshape({b, padded.h, padded.w, c});
  if (shifted) x = torch::roll(x, {shift.h, shift.w}, {1, 2});
  return x.slice(1, 0, h).slice(2, 0, wd).contiguous();
}

torch::Tensor PatchMergeImpl::forward(const torch::Tensor& input) {
  const int64_t h = input.size(1), w = input.size(2);
  torch::Tensor x =
      h % 2 + w % 2 > 0 ? torch::constant_pad_nd(input, {0, 0, 0, w % 2, 0, h % 2}) : input;
  auto at = [&](int64_t row, int64_t col) {
    return x.slice(1, row, x.size(1), 2).slice(2, col, x.size(2), 2);
  };
  return torch::cat({at(0, 0), at(1, 0), at(0, 1), at(1, 1)}, -1);
}

std::vector<int64_t> PartitionImpl::order() const {
  if (!inverse_)
    return kind_ == Partitioning::kWindow ? std::vector<int64_t>{0, 2, 4, 3, 5, 1}
                                          : std::vector<int64_t>{0, 3, 5, 2, 4, 1};
  return kind_ == Partitioning::kWindow ? std::vector<int64_t>{0, 5, 1, 3, 2, 4}
                                        : std::vector<int64_t>{0, 5, 3, 1, 4, 2};
}

std::vector<int64_t> PartitionImpl::split(at::IntArrayRef in) const {
  if (inverse_) {
    const int64_t s = side(in[2]);
    return {in[0], in[1], s, s, in[3]};
  }
  const int64_t c = in[0], rows = in[1] / size_, cols = in[2] / size_, s = size_;
  if (kind_ == Partitioning::kWindow) return {c, rows, s, cols, s};
  return {c, s, rows, s, cols};
}

std::vector<int64_t> PartitionImpl::output(at::IntArrayRef in) const {
  if (inverse_) {
    const int64_t s = side(in[2]);
    return {in[3], in[0] * s, in[1] * s};
  }
  return {in[1] / size_, in[2] / size_, size_ * size_, in[0]};
}

int64_t PartitionImpl::side(int64_t tokens) {
  return int64_t(std::lround(std::sqrt(double(tokens))));
}

torch::Tensor PartitionImpl::forward(const torch::Tensor& x) {
  const at::IntArrayRef example = x.sizes().slice(1);
  auto batched = [&](std::vector<int64_t> dims) {
    dims.insert(dims.begin(), x.size(0));
    return dims;
  };
  return x.view(batched(split(example))).permute(order()).reshape(batched(output(example)));
}

RelativeAttentionImpl::RelativeAttentionImpl(int64_t width, int64_t head_dim, int64_t tokens)
    : heads_(width / head_dim), tokens_(tokens) {
  const int64_t s = PartitionImpl::side(tokens);
  relative_position_bias_table =
      register_parameter("relative_position_bias_table",
                         torch::empty({(2 * s - 1) * (2 * s - 1), heads_}).normal_(0, 0.02));
  relative_position_index =
      register_buffer("relative_position_index", position_index(Pair(s)).view({tokens, tokens}));
  to_qkv = register_module("to_qkv", linear(width, 3 * width, true));
  merge = register_module("merge", linear(width, width, true));
}

torch::Tensor RelativeAttentionImpl::position_bias() {
  return relative_position_bias_table.index_select(0, relative_position_index.view(-1))
      .view({tokens_, tokens_, heads_})
      .permute({2, 0, 1})
      .contiguous()
      .unsqueeze(0);
}

torch::Tensor RelativeAttentionImpl::forward(const torch::Tensor& x) {
  const int64_t d = x.size(-1);
  const std::vector<int64_t> lead(x.sizes().begin(), x.sizes().end() - 2);
  auto shaped = [&](std::vector<int64_t> tail) {
    std::vector<int64_t> dims = lead;
    dims.insert(dims.end(), tail.begin(), tail.end());
    return dims;
  };
  // (..., P, D) to (..., heads, P, D / heads).
  auto per_head = [&](const torch::Tensor& t) {
    return t.reshape(shaped({tokens_, heads_, d / heads_})).transpose(-2, -3);
  };
  const auto qkv = to_qkv->forward(x).chunk(3, -1);
  const torch::Tensor q = per_head(qkv[0]), k = per_head(qkv[1]) * std::pow(double(d), -0.5);
  const torch::Tensor attn =
      torch::softmax(torch::matmul(q, k.transpose(-2, -1)) + position_bias(), -1);
  const torch::Tensor out = torch::matmul(attn, per_head(qkv[2])).transpose(-2, -3);
  return merge->forward(out.reshape(shaped({tokens_, d})));
}

namespace {

using config::at_least;

std::string count(int64_t n) {
  return std::to_string(n);
}

void require_channels_last(const BuildInput& in, const char* type) {
  if (in.shape.size() != 3)
    throw shape_error(in, std::string(type) +
                              " needs a channels-last image (N, H, W, C), as after `permute: "
                              "{dims: [1, 2, 0]}`, but the input is " +
                              (in.shape.size() == 2 ? "tokens (N, T, D)" : "not an image"));
}

struct WindowAttentionArgs {
  WindowAttentionOptions o;

  template <class V>
  void visit(V& v) {
    v.required("heads", o.heads, "attention heads; they split the channels", at_least(1));
    v.required("window", o.window, "the window's height and width, in pixels", pair_at_least(1));
    v.field("shift", o.shift,
            "how far the windows move (down and right) before attending: half the window on "
            "every other block",
            pair_at_least(0));
    v.field("cosine", o.cosine,
            "Swin V2: scaled cosine attention, and a position bias from a small MLP (cpb_mlp)");
    v.field("qkv_bias", o.qkv_bias, "learn the query/key/value projection's bias");
    v.field("proj_bias", o.proj_bias, "learn the output projection's bias");
    v.field("attention_dropout", o.attention_dropout,
            "dropout on the attention weights while training", config::below(0, 1));
    v.field("dropout", o.dropout, "dropout on the output while training", config::below(0, 1));
  }
};

BuiltLayer build_window_attention(const WindowAttentionArgs& a, const BuildInput& in) {
  require_channels_last(in, "window_attention");
  WindowAttentionOptions o = a.o;
  o.width = in.shape[2];
  if (o.width % o.heads != 0)
    throw shape_error(in, "heads " + count(o.heads) + " must divide the " + count(o.width) +
                              " channels (the last dimension)");
  if (o.shift.h >= o.window.h || o.shift.w >= o.window.w)
    throw shape_error(
        in, "shift " + o.shift.str() + " must be smaller than the window " + o.window.str());
  if (o.cosine && (o.window.h < 2 || o.window.w < 2))
    throw shape_error(in, "cosine attention needs a window of at least 2x2, not " + o.window.str());
  // Over the padded image: the four C x C projections per pixel, then scores and the weighted
  // sum within each window (2 x tokens per window x C per pixel).
  const int64_t ph = (in.shape[0] + o.window.h - 1) / o.window.h * o.window.h;
  const int64_t pw = (in.shape[1] + o.window.w - 1) / o.window.w * o.window.w;
  const int64_t c = o.width, macs = ph * pw * (4 * c * c + 2 * o.window.h * o.window.w * c);
  return {torch::nn::AnyModule(WindowAttention(o)), in.shape, macs};
}

BuiltLayer build_patch_merge(const NoArgs&, const BuildInput& in) {
  require_channels_last(in, "patch_merge");
  return {torch::nn::AnyModule(PatchMerge()),
          Shape{(in.shape[0] + 1) / 2, (in.shape[1] + 1) / 2, 4 * in.shape[2]}, 0};
}

struct PartitionArgs {
  std::string type;
  int64_t size = 0;

  template <class V>
  void visit(V& v) {
    v.required("type", type,
               "window: each partition a size x size block of neighbours; grid: size x size "
               "pixels spread evenly over the image (MaxViT's partition_type)",
               config::one_of({"window", "grid"}));
    v.required("size", size, "the partition's side in pixels (MaxViT's partition_size)",
               at_least(1));
  }
};

Partitioning partitioning(const std::string& type) {
  return type == "grid" ? Partitioning::kGrid : Partitioning::kWindow;
}

BuiltLayer build_partition(const PartitionArgs& a, const BuildInput& in) {
  require_image(in, "partition");
  if (in.shape[1] % a.size != 0 || in.shape[2] % a.size != 0)
    throw shape_error(in, "partition size " + count(a.size) + " must divide the image's " +
                              count(in.shape[1]) + "x" + count(in.shape[2]) +
                              " pixels (a MaxViT needs every stage's side to be a multiple)");
  Partition m(partitioning(a.type), a.size, false);
  return {torch::nn::AnyModule(m), m->output(in.shape), 0};
}

struct DepartitionArgs {
  std::string type;

  template <class V>
  void visit(V& v) {
    v.required("type", type, "how the image was partitioned: the `partition` layer's type",
               config::one_of({"window", "grid"}));
  }
};

void require_partitions(const BuildInput& in, const char* type) {
  if (in.shape.size() != 4)
    throw shape_error(in, std::string(type) +
                              " needs partitions (N, rows, columns, tokens, C), as after "
                              "`partition`, but the input is " +
                              (in.shape.size() == 3 ? "an image or channels-last" : "not"));
  const int64_t s = PartitionImpl::side(in.shape[2]);
  if (s * s != in.shape[2])
    throw shape_error(in, std::string(type) + " needs a square partition, but its " +
                              count(in.shape[2]) + " tokens are no square number");
}

BuiltLayer build_departition(const DepartitionArgs& a, const BuildInput& in) {
  require_partitions(in, "departition");
  Partition m(partitioning(a.type), 0, true);
  return {torch::nn::AnyModule(m), m->output(in.shape), 0};
}

struct RelativeAttentionArgs {
  int64_t head_dim = 0;

  template <class V>
  void visit(V& v) {
    v.required("head_dim", head_dim, "features per head; the heads are the width / head_dim",
               at_least(1));
  }
};

BuiltLayer build_relative_attention(const RelativeAttentionArgs& a, const BuildInput& in) {
  if (in.shape.size() != 2 && in.shape.size() != 4)
    throw shape_error(in,
                      "relative_attention needs tokens (N, T, D) or partitions (N, rows, "
                      "columns, T, D), as after `partition`, but the input is an image");
  const int64_t tokens = in.shape[in.shape.size() - 2], d = in.shape.back();
  const int64_t s = PartitionImpl::side(tokens);
  if (s * s != tokens)
    throw shape_error(
        in, "relative_attention needs a square of tokens, but there are " + count(tokens));
  if (d % a.head_dim != 0)
    throw shape_error(in, "head_dim " + count(a.head_dim) + " must divide the " + count(d) +
                              " features (the last dimension)");
  // Per token: the three projections and the merge (4 D^2), then scores and the weighted sum
  // over the partition's tokens (2 T D).
  const int64_t macs = numel(in.shape) / d * (4 * d * d + 2 * tokens * d);
  return {torch::nn::AnyModule(RelativeAttention(d, a.head_dim, tokens)), in.shape, macs};
}

}  // namespace

void register_window_layers(LayerRegistry& r) {
  r.add(make_layer<WindowAttentionArgs, build_window_attention>(
      "window_attention", "attn",
      "self-attention in shifted windows of a channels-last image (Swin, V1 and V2)"));
  r.add(make_layer<NoArgs, build_patch_merge>(
      "patch_merge", "patch_merge",
      "each 2x2 neighbourhood's channels side by side: H x W x C to H/2 x W/2 x 4C (Swin)"));
  r.add(make_layer<PartitionArgs, build_partition>(
      "partition", "partition",
      "an image cut into size x size partitions of tokens: C x H x W to H/s x W/s x s^2 x C "
      "(MaxViT)"));
  r.add(make_layer<DepartitionArgs, build_departition>(
      "departition", "departition", "partitions put back into an image: the inverse of partition"));
  r.add(make_layer<RelativeAttentionArgs, build_relative_attention>(
      "relative_attention", "attn",
      "self-attention among a partition's tokens with a relative position bias (MaxViT)"));
}

}  // namespace dlx::nn
