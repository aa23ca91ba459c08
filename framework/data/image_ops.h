// torchvision's image functions (transforms.functional on tensors, 0.14) on a float batch
// [B, C, H, W] in [0, 1], each image with its own parameter: the pieces that dlx's random
// augmentations apply to the group of images that drew the same op. The arithmetic follows
// torchvision's step by step (its affine grid, its blends in float32), so that a test can compare
// each against torchvision to 1e-5; posterize and equalize, which torchvision defines on uint8
// only, act on the image rounded to uint8 levels.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <vector>

#include "framework/config/image_specs.h"

namespace dlx::data {

/// torchvision's _get_inverse_affine_matrix: where each output pixel samples, for an affine map
/// about `center` (pixels from the image centre), angle and shears in degrees.
std::array<double, 6> inverse_affine_matrix(std::array<double, 2> center, double angle,
                                            std::array<double, 2> translate, double scale,
                                            std::array<double, 2> shear);

/// F.affine / F.rotate (expand off) with one inverse matrix per image.
at::Tensor affine(const at::Tensor& x, const std::vector<std::array<double, 6>>& matrices,
                  config::Interpolation interpolation, const config::Fill& fill);

/// F.adjust_brightness, adjust_contrast, adjust_saturation, adjust_sharpness: a blend with
/// black, the grey mean, the grey image or a blurred image, by one factor per image.
at::Tensor adjust_brightness(const at::Tensor& x, const std::vector<double>& factors);
at::Tensor adjust_contrast(const at::Tensor& x, const std::vector<double>& factors);
at::Tensor adjust_saturation(const at::Tensor& x, const std::vector<double>& factors);
at::Tensor adjust_sharpness(const at::Tensor& x, const std::vector<double>& factors);
/// F.adjust_hue: a turn of the hue by a share in [-0.5, 0.5] per image (1 channel: unchanged).
at::Tensor adjust_hue(const at::Tensor& x, const std::vector<double>& shifts);

/// F.posterize on round(x * 255): the top `bits` bits of each level kept, per image.
at::Tensor posterize(const at::Tensor& x, const std::vector<int64_t>& bits);
/// F.solarize: levels at or above the threshold (in [0, 1]) inverted, per image.
at::Tensor solarize(const at::Tensor& x, const std::vector<double>& thresholds);
/// F.autocontrast: each channel stretched to [0, 1].
at::Tensor autocontrast(const at::Tensor& x);
/// F.equalize on round(x * 255): each channel's histogram equalised.
at::Tensor equalize(const at::Tensor& x);
/// F.invert.
at::Tensor invert(const at::Tensor& x);

/// A box of one image, in pixels.
struct EraseBox {
  int64_t top = 0, left = 0, h = 0, w = 0;
};
/// F.erase of each image's box (h == 0: none) with `value`, or with `noise[i]` ([C, h, w]) when
/// given.
at::Tensor erase(const at::Tensor& x, const std::vector<EraseBox>& boxes, double value,
                 const std::vector<at::Tensor>& noise = {});

/// F.resize(x, side) on tensors: the shorter side to `side` (the longer truncated in proportion),
/// bilinear, no antialiasing.
at::Tensor resize_shorter(const at::Tensor& x, int64_t side);
/// F.center_crop: the centre `size` window (rounded as Python rounds), zero-padded when larger.
at::Tensor center_crop(const at::Tensor& x, config::Size2 size);

}  // namespace dlx::data
