#include "framework/train/judge.h"

#include <fmt/format.h>

namespace dlx::train {

using config::MetricKind;

std::optional<double> metric_value(const report::EpochRecord& record, MetricKind metric) {
  switch (metric) {
    case MetricKind::kValAcc:
      return record.val_acc;
    case MetricKind::kValLoss:
      return record.val_loss;
    case MetricKind::kTrainAcc:
      return record.train_acc;
    case MetricKind::kTrainLoss:
      return record.train_loss;
  }
  return std::nullopt;
}

namespace {

std::optional<MetricKind> selection_metric(config::SelectKind select, bool has_validation) {
  switch (select) {
    case config::SelectKind::kAuto:
      if (has_validation) return MetricKind::kValAcc;
      return std::nullopt;
    case config::SelectKind::kValAcc:
      return MetricKind::kValAcc;
    case config::SelectKind::kValLoss:
      return MetricKind::kValLoss;
    case config::SelectKind::kLast:
      break;
  }
  return std::nullopt;
}

// Whether `value` beats `best` by more than `delta` in the metric's direction.
bool beats(double value, double best, MetricKind metric, double delta) {
  return config::higher_is_better(metric) ? value > best + delta : value < best - delta;
}

// The epoch of the best value of `metric` (the first of equals), counting only improvements
// by more than `delta`.
std::optional<int64_t> best_epoch(const std::vector<report::EpochRecord>& epochs, MetricKind metric,
                                  double delta) {
  std::optional<double> best;
  std::optional<int64_t> epoch;
  for (const auto& e : epochs) {
    const auto value = metric_value(e, metric);
    if (!value) continue;
    if (!best || beats(*value, *best, metric, delta)) best = value, epoch = e.epoch;
  }
  return epoch;
}

}  // namespace

Judge::Judge(const config::TrainSpec& spec, bool has_validation)
    : select_metric_(selection_metric(spec.select, has_validation)),
      select_by_(select_metric_ ? config::choice_name(*select_metric_) : "last"),
      stopping_(spec.early_stopping) {}

std::optional<int64_t> Judge::selected(const std::vector<report::EpochRecord>& epochs) const {
  if (epochs.empty()) return std::nullopt;
  if (!select_metric_) return epochs.back().epoch;
  return best_epoch(epochs, *select_metric_, 0.0);
}

bool Judge::last_is_selected(const std::vector<report::EpochRecord>& epochs) const {
  return !epochs.empty() && selected(epochs) == epochs.back().epoch;
}

std::string Judge::stop_reason(const std::vector<report::EpochRecord>& epochs) const {
  if (stopping_.patience <= 0 || epochs.empty()) return {};
  const auto best = best_epoch(epochs, stopping_.metric, stopping_.min_delta);
  if (!best || epochs.back().epoch - *best < stopping_.patience) return {};
  return fmt::format("{} did not improve by more than {} for {} epoch{} after epoch {}",
                     config::choice_name(stopping_.metric), stopping_.min_delta, stopping_.patience,
                     stopping_.patience == 1 ? "" : "s", *best);
}

}  // namespace dlx::train
