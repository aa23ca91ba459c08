// The loss registry: what a training step minimises (train.loss.type), by name.
//
// How to add a loss: one entry in builtin_losses() (loss.cpp) with its function of the logits and
// labels and any keys it reads in config::LossSpec; its name in the registry test's list
// (tests/metrics/loss_test.cpp) with a test against PyTorch's own; regenerate docs/keys.md.
// There is no self-registration: the table is one list.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

#include "framework/config/experiment.h"

namespace dlx::metrics {

/// The mean loss of a batch: logits float [B, classes], and labels int64 [B] or, for a batch
/// that mixup or cutmix mixed, soft targets float [B, classes] (each row summing to 1).
using LossFn = std::function<at::Tensor(const at::Tensor& logits, const at::Tensor& labels)>;

struct LossEntry {
  std::string name;  // as train.loss.type names it: "cross_entropy"
  std::string help;  // one line for docs and help
  /// The loss with the spec's settings.
  std::function<LossFn(const config::LossSpec&)> make;
};

/// Every built-in loss, in the order help texts list them.
const std::vector<LossEntry>& builtin_losses();

/// The loss `spec` names, with its settings; an unknown name is a ConfigError at
/// train.loss.type (located at `where`) that lists the known ones.
LossFn make_loss(const config::LossSpec& spec, const Location& where = {});

}  // namespace dlx::metrics
