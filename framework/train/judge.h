// Judging a run by its epochs' records: which epoch it keeps (train.select: its weights go to
// checkpoint_best.pt and its figures are the run's selected ones) and when it stops early
// (train.early_stopping). Choices are made on validation or training figures, never on test.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "framework/config/experiment.h"
#include "framework/metrics/metric.h"
#include "framework/report/report.h"

namespace dlx::train {

class Judge {
 public:
  Judge(const config::TrainSpec& spec, bool has_validation);

  /// What selection goes by: "val_acc", "val_loss", "ema_val_acc", "ema_val_loss", "ema" (the
  /// average at the last epoch) or "last".
  const std::string& select_by() const { return select_by_; }
  /// The selected epoch among `epochs` (the first of equals), or nullopt when there are none.
  std::optional<int64_t> selected(const std::vector<report::EpochRecord>& epochs) const;
  /// Whether checkpoint_best.pt is kept: selection goes by a metric, or keeps the EMA's weights.
  bool keeps_best() const { return select_metric_.has_value() || keeps_ema_; }
  /// Whether checkpoint_best.pt holds train.ema's averaged weights rather than the live ones.
  bool keeps_ema() const { return keeps_ema_; }
  /// Whether the last of `epochs` is now the selected one.
  bool last_is_selected(const std::vector<report::EpochRecord>& epochs) const;
  /// Why the run should stop after the last of `epochs`, or "" to go on.
  std::string stop_reason(const std::vector<report::EpochRecord>& epochs) const;

 private:
  std::optional<metrics::MetricKey> select_metric_;  // none: the last epoch
  bool keeps_ema_ = false;
  std::string select_by_;
  config::EarlyStoppingSpec stopping_;
};

/// The epoch of the best value of `metric` among `epochs` (the first of equals), counting only
/// improvements by more than `delta`; nullopt when no epoch has the metric.
std::optional<int64_t> best_epoch(const std::vector<report::EpochRecord>& epochs,
                                  const metrics::MetricKey& metric, double delta);

}  // namespace dlx::train
