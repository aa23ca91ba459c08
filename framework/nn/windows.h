// The modules of windowed attention. Swin's (torchvision's swin_transformer.py): self-attention
// inside shifted windows of a channels-last image, with a learned relative position bias, and the
// merging of 2 x 2 neighbourhoods. MaxViT's (maxvit.py): an image cut into windows or a grid of
// partitions, relative-position attention within each, and the image put back. Parameters and
// buffers are named as torchvision names them. In a header so that the ONNX export can read them.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "framework/nn/layer_registry.h"
#include "framework/nn/pair.h"

namespace dlx::nn {

struct WindowAttentionOptions {
  int64_t width = 0;  // the channels, C
  int64_t heads = 1;
  Pair window{7};
  Pair shift{0};
  bool cosine = false;  // Swin V2: scaled cosine attention, position bias from a small MLP
  bool qkv_bias = true;
  bool proj_bias = true;
  double attention_dropout = 0;
  double dropout = 0;
};

/// Self-attention inside each window of an (N, H, W, C) image, the windows shifted first by
/// `shift` (torchvision's ShiftedWindowAttention, V2 with `cosine`). The image is padded to whole
/// windows; a window or shift the padded image does not exceed is not shifted.
class WindowAttentionImpl : public torch::nn::Module {
 public:
  explicit WindowAttentionImpl(const WindowAttentionOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  /// The bias added to each head's scores, 1 x heads x (window tokens)^2.
  torch::Tensor position_bias();
  /// The shift used for a padded image of `padded` (zero where the window covers it).
  Pair shift_for(Pair padded) const;
  /// 0 where two tokens of a window came from the same region before the shift, -100 where not
  /// (windows x tokens x tokens).
  torch::Tensor shift_mask(Pair padded, Pair shift, const torch::TensorOptions& options) const;
  const WindowAttentionOptions& options() const { return options_; }

  torch::nn::Linear qkv{nullptr}, proj{nullptr};
  torch::Tensor relative_position_bias_table;  // V1: a learned table, (2Wh-1)(2Ww-1) x heads
  torch::Tensor logit_scale;                   // V2: heads x 1 x 1
  torch::nn::Sequential cpb_mlp{nullptr};      // V2: relative coordinates to a bias per head
  torch::Tensor relative_coords_table;         // V2's buffer: 1 x (2Wh-1) x (2Ww-1) x 2
  torch::Tensor relative_position_index;       // buffer: (Wh Ww)^2 rows of the table

 private:
  WindowAttentionOptions options_;
};
TORCH_MODULE(WindowAttention);

/// (N, H, W, C) to (N, H/2, W/2, 4C): each 2 x 2 neighbourhood's channels side by side, in
/// torchvision's order (x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2]); an odd side
/// is padded with zeros first.
class PatchMergeImpl : public torch::nn::Module {
 public:
  torch::Tensor forward(const torch::Tensor& x);
};
TORCH_MODULE(PatchMerge);

/// MaxViT's two ways of cutting an image into partitions of size x size pixels: `window`, each
/// partition a block of neighbours; `grid`, each partition pixels spread over the whole image at a
/// stride of (H / size, W / size) (torchvision's partition_op of grid_size / size, then its swap).
enum class Partitioning { kWindow, kGrid };

/// (N, C, H, W) to (N, H / size, W / size, size^2, C): partitions in rows and columns, each with
/// its size x size pixels as tokens; with `inverse`, back (the partition side from the tokens).
class PartitionImpl : public torch::nn::Module {
 public:
  PartitionImpl(Partitioning kind, int64_t size, bool inverse)
      : kind_(kind), size_(size), inverse_(inverse) {}
  torch::Tensor forward(const torch::Tensor& x);
  Partitioning kind() const { return kind_; }
  bool inverse() const { return inverse_; }
  /// One example's dimensions split so that one permutation (`order`, batch first) arranges
  /// them, and the example's shape after it.
  std::vector<int64_t> split(at::IntArrayRef example) const;
  std::vector<int64_t> order() const;
  std::vector<int64_t> output(at::IntArrayRef example) const;
  /// The side of a square partition of `tokens` tokens.
  static int64_t side(int64_t tokens);

 private:
  Partitioning kind_;
  int64_t size_;  // the partition's side; from the tokens when inverse
  bool inverse_;
};
TORCH_MODULE(Partition);

/// torchvision's RelativePositionalMultiHeadAttention (MaxViT): self-attention among the P = s^2
/// tokens of each partition, (..., P, D) to (..., P, D), with a learned bias per relative
/// position of two tokens in the s x s square. Its keys, not its queries, are scaled, by D^-1/2
/// (the width, not a head's), as torchvision's are.
class RelativeAttentionImpl : public torch::nn::Module {
 public:
  RelativeAttentionImpl(int64_t width, int64_t head_dim, int64_t tokens);
  torch::Tensor forward(const torch::Tensor& x);
  /// 1 x heads x P x P.
  torch::Tensor position_bias();
  int64_t heads() const { return heads_; }

  torch::nn::Linear to_qkv{nullptr}, merge{nullptr};
  torch::Tensor relative_position_bias_table;  // (2s - 1)^2 x heads
  torch::Tensor relative_position_index;       // buffer: P x P rows of the table

 private:
  int64_t heads_, tokens_;
};
TORCH_MODULE(RelativeAttention);

/// Registers window_attention, patch_merge, partition, departition and relative_attention
/// (called by register_builtin_layers).
void register_window_layers(LayerRegistry& registry);

}  // namespace dlx::nn
