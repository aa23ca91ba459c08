// Mixup and cutmix of a training batch (train.mix), as torchvision's reference scripts do them
// (RandomMixup, RandomCutmix, chosen at random: timm's Mixup in "batch" mode): each image is
// blended with the one before it (the batch rolled by one), with one share drawn per batch, and
// the targets become the same blend of one-hot labels. The draws follow (seed, epoch, step)
// alone. With several ranks each rank mixes its own rows, as each process of torchvision's
// distributed reference does.
#pragma once

#include <ATen/core/Tensor.h>

#include "framework/config/experiment.h"

namespace dlx::train {

struct MixedBatch {
  at::Tensor images;
  at::Tensor targets;  // float [B, classes]; or the int64 labels when the batch was not mixed
  double share = 1;    // the first image's share (lambda); 1 when not mixed
};

/// The mix a batch gets: whether it is mixed, mixup or cutmix, and its share, drawn at
/// (seed, epoch, step); then applied to `images` (float [B, C, H, W]) and `labels` (int64 [B]).
MixedBatch mix_batch(const at::Tensor& images, const at::Tensor& labels, int64_t classes,
                     const config::MixSpec& spec, uint64_t seed, int64_t epoch, int64_t step);

/// Cutmix's box for a share `share` in an H x W image around the centre (cy, cx), as
/// torchvision's RandomCutmix: half-sides int(0.5 * sqrt(1 - share) * side), clipped.
struct CutBox {
  int64_t y1, y2, x1, x2;
};
CutBox cut_box(double share, int64_t cy, int64_t cx, int64_t h, int64_t w);

/// Blends: mixup `images * share + rolled * (1 - share)`; cutmix pastes `box` of the rolled
/// images. Targets are the same blend of one-hot labels (cutmix's share is the box's exact area).
MixedBatch mixup(const at::Tensor& images, const at::Tensor& labels, int64_t classes, double share);
MixedBatch cutmix(const at::Tensor& images, const at::Tensor& labels, int64_t classes,
                  const CutBox& box);

}  // namespace dlx::train
