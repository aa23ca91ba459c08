// The metric registry: what an epoch records of each split, by name. A metric is a value per
// example, summed over a split's batches on the device and divided by the examples (accuracy: the
// correct ones); "loss" is the loss's own mean (train.loss). Records name them
// "<split>_<metric>": train_acc, val_loss, test_acc. Early stopping, train.select, successive
// halving and `dlx compare` all read them by these names and take each one's direction from here.
//
// How to add a metric: one entry in builtin_metrics() (metric.cpp) with its per-batch sum or its
// figure of the confusion matrix, its name in the registry test's list
// (tests/metrics/metric_test.cpp) with a test of its values, and regenerate docs/keys.md. A run
// records acc and loss, and the metrics train.metrics and its criteria name, on every split;
// report.json and metrics.jsonl carry them (report::EpochRecord keeps what has no field of its
// own).
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
  /// float [B, classes], labels int64 [B]); empty for "loss", which the loop sums from the loss,
  /// and for a metric of the whole split's confusion matrix.
  std::function<at::Tensor(const at::Tensor& logits, const at::Tensor& labels)> batch_sum;
  /// A figure of the split's confusion matrix (int64 [classes, classes] on the CPU, row = true
  /// label) instead of a sum: measured on the evaluation splits (val, test) only.
  std::function<double(const at::Tensor& confusion)> of_confusion;
  int64_t k = 0;  // topK_acc: K (a run checks it against its classes)
};

/// Every built-in metric with a fixed name, in the order help texts list them: acc, loss,
/// macro_f1. topK_acc (any K >= 1) is a family that find_metric makes on first use.
const std::vector<MetricEntry>& builtin_metrics();

/// The metric named `name` ("acc", "top5_acc", "macro_f1"), or null. Entries live for the
/// program's life.
const MetricEntry* find_metric(const std::string& name);

/// What a run records of every split: acc always, then each of `names` (train.metrics and the
/// criteria's metrics) once; loss is the loop's own. A name that is no metric, or a topK_acc
/// with K above `classes`, is a ConfigError at `key` (located at `where`).
std::vector<const MetricEntry*> recorded_metrics(const std::vector<std::string>& names,
                                                 int64_t classes, const std::string& key,
                                                 const Location& where);

/// Per-class precision, recall and F1 of a confusion matrix (row = true label), and their
/// unweighted means (macro): a class never predicted has precision 0, one never present recall
/// 0, as scikit-learn's zero_division=0.
struct ClassScores {
  std::vector<double> precision, recall, f1;
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
};
ClassScores class_scores(const at::Tensor& confusion);

/// The splits a run records, in the order records list them.
const std::vector<std::string>& splits();

/// A recorded figure: a split and a metric, named "<split>_<metric>" ("val_acc").
struct MetricKey {
  std::string split;
  const MetricEntry* metric = nullptr;
  bool ema = false;  // of train.ema's averaged weights: "ema_val_acc"
  std::string name() const { return (ema ? "ema_" : "") + split + "_" + metric->name; }
  bool higher_is_better() const { return metric->higher_is_better; }
  bool needs_validation() const { return split == "val"; }
};

/// The figure `name` names ("val_acc", "ema_test_loss"), or nullopt.
std::optional<MetricKey> parse_metric(const std::string& name);

/// The figures a run may be judged by (early stopping, halving): each metric on the validation
/// and the training split (a metric of the confusion matrix on the validation split only), as
/// written in help texts ("val_topK_acc"); the test split is never a criterion.
std::vector<std::string> criterion_names();

/// The criterion named `name`; another name is a ConfigError at `key` (located at `where`) that
/// lists them.
MetricKey criterion(const std::string& name, const std::string& key, const Location& where);

}  // namespace dlx::metrics
