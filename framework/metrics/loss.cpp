#include "framework/metrics/loss.h"

#include <ATen/ops/binary_cross_entropy_with_logits.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/full_like.h>

namespace dlx::metrics {

namespace {

// timm's BinaryCrossEntropy: one-hot targets, smoothed to `smoothing / classes` off the label
// and `1 - smoothing` more on it, and the logistic loss of every (example, class), averaged.
// Soft targets (a mixed batch's, float [B, classes]) are smoothed the same way, as timm's
// mixup_target does.
at::Tensor binary_cross_entropy(const at::Tensor& logits, const at::Tensor& labels,
                                double smoothing) {
  const double off = smoothing / double(logits.size(1)), on = 1.0 - smoothing + off;
  at::Tensor targets = labels.is_floating_point()
                           ? labels * (1.0 - smoothing) + off
                           : at::full_like(logits, off).scatter_(1, labels.unsqueeze(1), on);
  return at::binary_cross_entropy_with_logits(logits, targets);
}

// reduction: sum gives the gradient of the batch's sum (d2l's `l.sum().backward()`) while the
// value stays the mean, which the epoch's figures and divergence checks read: the sum minus its
// own difference from the mean, that difference taken out of the graph.
LossFn with_reduction(LossFn mean, const std::string& reduction) {
  if (reduction != "sum") return mean;
  return [mean = std::move(mean)](const at::Tensor& logits, const at::Tensor& labels) {
    const at::Tensor m = mean(logits, labels);
    const at::Tensor sum = m * double(labels.size(0));
    return sum - (sum - m).detach();
  };
}

}  // namespace

const std::vector<LossEntry>& builtin_losses() {
  static const std::vector<LossEntry> table{
      {"cross_entropy",
       "softmax cross-entropy with the labels, as torch.nn.CrossEntropyLoss (label_smoothing "
       "too); a mixed batch's soft targets as its probability targets (timm's "
       "SoftTargetCrossEntropy)",
       [](const config::LossSpec& spec) -> LossFn {
         const double smoothing = spec.label_smoothing;
         return [smoothing](const at::Tensor& logits, const at::Tensor& labels) {
           return at::cross_entropy_loss(logits, labels, {}, at::Reduction::Mean, -100, smoothing);
         };
       }},
      {"binary_cross_entropy",
       "the logistic loss of each class against one-hot labels (timm's --bce-loss; "
       "label_smoothing as timm's)",
       [](const config::LossSpec& spec) -> LossFn {
         const double smoothing = spec.label_smoothing;
         return [smoothing](const at::Tensor& logits, const at::Tensor& labels) {
           return binary_cross_entropy(logits, labels, smoothing);
         };
       }},
  };
  return table;
}

LossFn make_loss(const config::LossSpec& spec, const Location& where) {
  std::vector<std::string> names;
  for (const auto& entry : builtin_losses()) {
    if (entry.name == spec.type) return with_reduction(entry.make(spec), spec.reduction);
    names.push_back(entry.name);
  }
  throw ConfigError(where, "train.loss.type", "one of " + join(names), "'" + spec.type + "'",
                    did_you_mean(spec.type, names));
}

}  // namespace dlx::metrics
