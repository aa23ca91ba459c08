// Augmentation of whole training batches on the run's device, and its evaluation counterpart.
// Every random draw comes from (seed, epoch, step, augmentation), drawn for the step's global
// batch, of which a rank takes its own rows: so an interrupted and resumed run, and a run on
// several ranks, see the very same augmented images as one uninterrupted process.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "framework/config/image_specs.h"
#include "framework/data/draws.h"

namespace dlx::data {

/// The training transform: each augmentation of `list` in order, on float [B, C, H, W] in [0, 1];
/// random_erasing entries are left to augment_normalized.
at::Tensor augment(const at::Tensor& x, const std::vector<config::AugmentSpec>& list,
                   const DrawPosition& at);

/// The random_erasing entries of `list`, on the normalised batch (as torchvision's recipe erases
/// after Normalize: a value of 0 is the mean).
at::Tensor augment_normalized(const at::Tensor& x, const std::vector<config::AugmentSpec>& list,
                              const DrawPosition& at);

/// How evaluation batches are sized: data.val_resize and data.val_crop (0 = off).
struct EvalResize {
  int64_t shorter = 0;  // resize so the shorter side is this (torchvision's Resize(int))
  config::Size2 crop;   // then the centre crop (torchvision's CenterCrop)
  bool off() const { return shorter == 0 && crop.empty(); }
};

/// The evaluation transform: with `resize` set, its resize and centre crop; else what makes an
/// unaugmented image the size the augmentations give (a centre crop or pad where random_crop
/// changes the size, a resize for random_resized_crop).
at::Tensor augment_eval(const at::Tensor& x, const std::vector<config::AugmentSpec>& list,
                        const EvalResize& resize = {});

}  // namespace dlx::data
