// The automatic augmentations of torchvision 0.14 (TrivialAugmentWide, RandAugment, AutoAugment)
// and ColorJitter on whole batches: each image draws its own ops and magnitudes from the step's
// draws; the images that drew the same op are transformed together, each at its own magnitude.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "framework/config/image_specs.h"
#include "framework/data/draws.h"

namespace dlx::data {

/// The ops of torchvision's autoaugment.py (_apply_op), by its names.
enum class AutoOp {
  kIdentity,
  kShearX,
  kShearY,
  kTranslateX,
  kTranslateY,
  kRotate,
  kBrightness,
  kColor,
  kContrast,
  kSharpness,
  kPosterize,
  kSolarize,
  kAutoContrast,
  kEqualize,
  kInvert
};

/// torchvision's name of `op` ("ShearX").
const char* op_name(AutoOp op);
/// Every op, in the order above.
const std::vector<AutoOp>& all_ops();

/// torchvision's _apply_op on each image of x ([B, C, H, W] in [0, 1]) with that image's signed
/// magnitude: shear as tan of the angle, translation in pixels (truncated), rotation in degrees,
/// colour ops as 1 + magnitude, posterize in bits, solarize's threshold on the 0..255 scale.
at::Tensor apply_op(const at::Tensor& x, AutoOp op, const std::vector<double>& magnitudes,
                    config::Interpolation interpolation, const config::Fill& fill);

/// One op an image drew, with its signed magnitude.
struct DrawnOp {
  AutoOp op = AutoOp::kIdentity;
  double magnitude = 0;
};

/// RandAugment's draws for the global batch of images of h x w: num_ops rounds, each with one op
/// per image, applied round after round.
std::vector<std::vector<DrawnOp>> rand_augment_draws(const config::RandAugmentSpec& s, Draws& draws,
                                                     int64_t global, int64_t h, int64_t w);

at::Tensor trivial_augment(const at::Tensor& x, const config::TrivialAugmentSpec& s, Draws& draws,
                           const DrawPosition& at);
at::Tensor rand_augment(const at::Tensor& x, const config::RandAugmentSpec& s, Draws& draws,
                        const DrawPosition& at);
at::Tensor auto_augment(const at::Tensor& x, const config::AutoAugmentSpec& s, Draws& draws,
                        const DrawPosition& at);
at::Tensor color_jitter(const at::Tensor& x, const config::ColorJitterSpec& s, Draws& draws,
                        const DrawPosition& at);

}  // namespace dlx::data
