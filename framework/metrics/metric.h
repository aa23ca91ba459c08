// The metric registry: what an epoch records of each split, by name. A metric is a value per
// example, summed over a split's batches on the device and divided by the examples (accuracy: the
// correct ones); "loss" is the loss's own mean (train.loss). Records name them
// "<split>_<metric>": train_acc, val_loss, test_acc. Early stopping, train.select, successive
// halving and `dlx compare` all read them by these names and take each one's direction from here.
//
// How to add a metric: one entry in builtin_metrics() (metric.cpp) with its per-batch sum, its name
// in the registry test's list (tests/metrics/metric_test.cpp) with a test of its values, and
// regenerate docs/keys.md. The training loop computes every registered metric on every split and
// report.json and metrics.jsonl carry it (report::EpochRecord keeps what has no field of its own).
// There is no self-registration: the table is one list.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "framework/core/error.h"

namespace dlx::metrics {

struct MetricEntry {
  std::string name;  // "acc"
  std::string help;  // one line for docs and help
  bool higher_is_better = true;
  /// The sum over a batch of the per-example values, a scalar on the logits' device (logits
  /// float [B, classes], labels int64 [B]); empty for "loss", which the loop sums from the loss.
  std::function<at::Tensor(const at::Tensor& logits, const at::Tensor& labels)> batch_sum;
};

/// Every built-in metric, in the order help texts list them.
const std::vector<MetricEntry>& builtin_metrics();

/// The splits a run records, in the order records list them.
const std::vector<std::string>& splits();

/// A recorded figure: a split and a metric, named "<split>_<metric>" ("val_acc").
struct MetricKey {
  std::string split;
  const MetricEntry* metric = nullptr;
  std::string name() const { return split + "_" + metric->name; }
  bool higher_is_better() const { return metric->higher_is_better; }
  bool needs_validation() const { return split == "val"; }
};

/// The figure `name` names ("val_acc"), or nullopt.
std::optional<MetricKey> parse_metric(const std::string& name);

/// The figures a run may be judged by (early stopping, halving): each metric on the validation
/// and the training split; the test split is never a criterion.
std::vector<std::string> criterion_names();

/// The criterion named `name`; another name is a ConfigError at `key` (located at `where`) that
/// lists them.
MetricKey criterion(const std::string& name, const std::string& key, const Location& where);

}  // namespace dlx::metrics
