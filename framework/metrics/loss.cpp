#include "framework/metrics/loss.h"

#include <ATen/ops/cross_entropy_loss.h>

namespace dlx::metrics {

const std::vector<LossEntry>& builtin_losses() {
  static const std::vector<LossEntry> table{
      {"cross_entropy", "softmax cross-entropy with the labels, as torch.nn.CrossEntropyLoss",
       [](const config::LossSpec&) -> LossFn {
         return [](const at::Tensor& logits, const at::Tensor& labels) {
           return at::cross_entropy_loss(logits, labels);
         };
       }},
  };
  return table;
}

LossFn make_loss(const config::LossSpec& spec, const Location& where) {
  std::vector<std::string> names;
  for (const auto& entry : builtin_losses()) {
    if (entry.name == spec.type) return entry.make(spec);
    names.push_back(entry.name);
  }
  throw ConfigError(where, "train.loss.type", "one of " + join(names), "'" + spec.type + "'",
                    did_you_mean(spec.type, names));
}

}  // namespace dlx::metrics
