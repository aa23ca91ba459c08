#include "framework/train/mix.h"

#include <ATen/ops/one_hot.h>

#include <algorithm>

#include "framework/data/draws.h"

namespace dlx::train {

namespace {

// Which use of a step's generator mixing is: apart from the augmentations' (0, 1, ...).
constexpr uint64_t kMixDraws = 0x6D6978;

at::Tensor blended_targets(const at::Tensor& labels, int64_t classes, double share) {
  const at::Tensor one_hot = at::one_hot(labels, classes).to(at::kFloat);
  return one_hot * share + one_hot.roll(1, 0) * (1.0 - share);
}

}  // namespace

CutBox cut_box(double share, int64_t cy, int64_t cx, int64_t h, int64_t w) {
  const double r = 0.5 * std::sqrt(1.0 - share);
  const auto half_w = int64_t(r * double(w)), half_h = int64_t(r * double(h));
  return {std::max<int64_t>(cy - half_h, 0), std::min(cy + half_h, h),
          std::max<int64_t>(cx - half_w, 0), std::min(cx + half_w, w)};
}

MixedBatch mixup(const at::Tensor& images, const at::Tensor& labels, int64_t classes,
                 double share) {
  return {images * share + images.roll(1, 0) * (1.0 - share),
          blended_targets(labels, classes, share), share};
}

MixedBatch cutmix(const at::Tensor& images, const at::Tensor& labels, int64_t classes,
                  const CutBox& box) {
  at::Tensor out = images.clone();
  const int64_t h = images.size(2), w = images.size(3);
  auto window = [&](const at::Tensor& t) {
    return t.narrow(2, box.y1, box.y2 - box.y1).narrow(3, box.x1, box.x2 - box.x1);
  };
  window(out).copy_(window(images.roll(1, 0)));
  const double share = 1.0 - double((box.y2 - box.y1) * (box.x2 - box.x1)) / double(h * w);
  return {out, blended_targets(labels, classes, share), share};
}

MixedBatch mix_batch(const at::Tensor& images, const at::Tensor& labels, int64_t classes,
                     const config::MixSpec& spec, uint64_t seed, int64_t epoch, int64_t step) {
  data::Draws draws(data::DrawPosition{seed, epoch, step, 0, images.size(0)}, kMixDraws);
  if (!spec.on() || draws.uniform() >= spec.prob) return {images, labels, 1.0};
  const bool cut =
      spec.mixup_alpha <= 0 || (spec.cutmix_alpha > 0 && draws.uniform() < spec.switch_prob);
  const double alpha = cut ? spec.cutmix_alpha : spec.mixup_alpha;
  const double share = draws.beta(alpha, alpha);
  if (!cut) return mixup(images, labels, classes, share);
  const int64_t h = images.size(2), w = images.size(3);
  const int64_t cy = draws.below(h), cx = draws.below(w);
  return cutmix(images, labels, classes, cut_box(share, cy, cx, h, w));
}

}  // namespace dlx::train
