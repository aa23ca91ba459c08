// Augmentation of whole training batches on the run's device, and its evaluation counterpart.
// Every random draw comes from (seed, epoch, step, augmentation), drawn for the step's global
// batch, of which a rank takes its own rows: so an interrupted and resumed run, and a run on
// several ranks, see the very same augmented images as one uninterrupted process.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "framework/config/image_specs.h"

namespace dlx::data {

/// Where a batch sits in the run: which draws it gets.
struct DrawPosition {
  uint64_t seed = 0;
  int64_t epoch = 0, step = 0;
  int64_t first = 0;   // this rank's first row in the global batch
  int64_t global = 0;  // the global batch's size
};

/// The training transform: each augmentation of `list` in order, on float [B, C, H, W].
at::Tensor augment(const at::Tensor& x, const std::vector<config::AugmentSpec>& list,
                   const DrawPosition& at);

/// The evaluation transform: what makes an unaugmented image the size the augmentations give
/// (a centre crop or pad where random_crop changes the size, a resize for random_resized_crop).
at::Tensor augment_eval(const at::Tensor& x, const std::vector<config::AugmentSpec>& list);

}  // namespace dlx::data
