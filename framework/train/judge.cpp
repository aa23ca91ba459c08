#include "framework/train/judge.h"

#include <fmt/format.h>

namespace dlx::train {

namespace {

// train.select's metric: a validation figure (auto: val_acc when there is validation), or none
// for the last epoch.
std::optional<metrics::MetricKey> selection_metric(config::SelectKind select, bool has_validation) {
  switch (select) {
    case config::SelectKind::kAuto:
      if (has_validation) return metrics::parse_metric("val_acc");
      return std::nullopt;
    case config::SelectKind::kValAcc:
    case config::SelectKind::kValLoss:
    case config::SelectKind::kEmaValAcc:
    case config::SelectKind::kEmaValLoss:
      return metrics::parse_metric(config::choice_name(select));
    case config::SelectKind::kLast:
    case config::SelectKind::kEma:
      break;
  }
  return std::nullopt;
}

// Whether `value` beats `best` by more than `delta` in the metric's direction.
bool beats(double value, double best, const metrics::MetricKey& metric, double delta) {
  return metric.higher_is_better() ? value > best + delta : value < best - delta;
}

}  // namespace

std::optional<int64_t> best_epoch(const std::vector<report::EpochRecord>& epochs,
                                  const metrics::MetricKey& metric, double delta) {
  std::optional<double> best;
  std::optional<int64_t> epoch;
  for (const auto& e : epochs) {
    const auto value = e.value(metric.name());
    if (!value) continue;
    if (!best || beats(*value, *best, metric, delta)) best = value, epoch = e.epoch;
  }
  return epoch;
}

Judge::Judge(const config::TrainSpec& spec, bool has_validation)
    : select_metric_(selection_metric(spec.select, has_validation)),
      keeps_ema_(spec.select == config::SelectKind::kEma ||
                 spec.select == config::SelectKind::kEmaValAcc ||
                 spec.select == config::SelectKind::kEmaValLoss),
      select_by_(select_metric_ ? select_metric_->name()
                 : keeps_ema_   ? "ema"
                                : "last"),
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
  const auto metric = metrics::parse_metric(stopping_.metric);  // checked by experiment::load
  if (!metric) return {};
  const auto best = best_epoch(epochs, *metric, stopping_.min_delta);
  if (!best || epochs.back().epoch - *best < stopping_.patience) return {};
  return fmt::format("{} did not improve by more than {} for {} epoch{} after epoch {}",
                     stopping_.metric, stopping_.min_delta, stopping_.patience,
                     stopping_.patience == 1 ? "" : "s", *best);
}

}  // namespace dlx::train
