#include "framework/sweep/halving_runs.h"

#include <fmt/format.h>

#include <algorithm>
#include <ostream>

#include "framework/core/error.h"
#include "framework/metrics/metric.h"
#include "framework/report/run_report.h"

namespace dlx::sweep {

namespace fs = std::filesystem;
using report::RunStatus;

namespace {

// Halving compares the points at common epochs, on a metric every point measures.
int64_t common_epochs(const HalvingSpec& spec, const std::vector<Plan>& plans) {
  metrics::criterion(spec.metric, "sweep.halving.metric", spec.metric_at);
  if (plans.empty()) return 0;
  for (const auto& p : plans) {
    if (p.epochs != plans[0].epochs) {
      throw ConfigError::plain({p.point->file.string()}, "train.epochs",
                               "successive halving needs one train.epochs for every point; " +
                                   plans[0].point->label + " has " +
                                   std::to_string(plans[0].epochs) + ", " + p.point->label +
                                   " has " + std::to_string(p.epochs));
    }
    const std::string& m = metrics::parse_metric(spec.metric)->metric->name;
    if (m != "acc" && m != "loss" &&
        std::find(p.metrics.begin(), p.metrics.end(), m) == p.metrics.end())
      throw ConfigError::plain({p.point->file.string()}, "sweep.halving.metric",
                               spec.metric + " is recorded only when train.metrics names " + m +
                                   " (" + p.point->label + " does not)");
    if (metrics::parse_metric(spec.metric)->needs_validation() && !p.has_validation) {
      throw ConfigError::plain(
          {p.point->file.string()}, "sweep.halving.metric",
          spec.metric + " needs a validation split: set data.val_split (e.g. 0.1)");
    }
  }
  if (plans[0].epochs == 0)
    throw ConfigError::plain({plans[0].point->file.string()}, "train.epochs",
                             "successive halving compares points as they train: train.epochs of "
                             "at least 1, found 0 (evaluation only)");
  return plans[0].epochs;
}

}  // namespace

HalvingRuns::HalvingRuns(const HalvingSpec& spec, const std::vector<Plan>& plans, Index& index,
                         SweepResult& result, std::ostream& out)
    : plans_(plans),
      halving_(spec, plans.size(), common_epochs(spec, plans)),
      index_(index),
      result_(result),
      out_(out),
      running_(plans.size(), false),
      settled_(plans.size(), false) {
  for (size_t i = 0; i < plans.size(); ++i) {
    settled_[i] = plans[i].action == Action::kSkip;
    read(i);
  }
}

// What the point's folder holds, for the decisions. The report's epochs, not metrics.jsonl's:
// the report is saved after the checkpoint, so it never counts an epoch a resume would repeat.
void HalvingRuns::read(size_t i) {
  const fs::path& folder = plans_[i].folder;
  if (!fs::exists(folder / "report.json")) {
    halving_.record(i, {}, true);
    return;
  }
  try {
    report::RunReport r = report::read_run_report(folder);
    const bool resumable = r.status == RunStatus::kInterrupted || r.status == RunStatus::kRunning;
    halving_.record(i, std::move(r.epochs), resumable);
  } catch (const RuntimeError&) {
    halving_.record(i, {}, false);
  }
}

std::optional<Task> HalvingRuns::next() {
  prune();
  const std::vector<Step> steps = halving_.steps();
  std::optional<size_t> best;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].kind != Step::kTrain || running_[i]) continue;
    // The furthest rung first: the search's best points are known soonest.
    if (!best || steps[i].to_epoch > steps[*best].to_epoch) best = i;
  }
  if (!best) return std::nullopt;
  running_[*best] = true;
  const int64_t to = steps[*best].to_epoch;
  const bool resume = fs::exists(plans_[*best].folder / "report.json");
  return Task{*best, resume, to < halving_.ladder().rungs.back() ? to : 0};
}

void HalvingRuns::ended(size_t i) {
  running_[i] = false;
  read(i);
  prune();
}

size_t HalvingRuns::not_started() const {
  const std::vector<Step> steps = halving_.steps();
  size_t n = 0;
  for (size_t i = 0; i < steps.size(); ++i) n += steps[i].kind == Step::kTrain && !running_[i];
  return n;
}

// Marks each point that will certainly go no further as completed, pruned.
void HalvingRuns::prune() {
  const std::vector<Step> steps = halving_.steps();
  for (size_t i = 0; i < steps.size(); ++i) {
    if (settled_[i] || steps[i].kind != Step::kDone || !steps[i].pruned_at) continue;
    const fs::path& folder = plans_[i].folder;
    report::RunReport r = report::read_run_report(folder);
    r.status = RunStatus::kCompleted;
    r.stopped_early = fmt::format("pruned at epoch {}: {}", steps[i].pruned_at, steps[i].why);
    r.interrupted_at.reset();
    report::write_run_report(folder, r);
    index_.update(i, folder);
    settled_[i] = true;
    ++result_.pruned;
    out_ << fmt::format("[{}/{}] {}: {}", result_.ended(), plans_.size(), plans_[i].point->label,
                        r.stopped_early)
         << std::endl;
  }
}

std::string HalvingRuns::describe() const {
  const Ladder& ladder = halving_.ladder();
  std::vector<std::string> rungs, kept{std::to_string(plans_.size())};
  for (int64_t r : ladder.rungs) rungs.push_back(std::to_string(r));
  for (size_t k : ladder.keep) kept.push_back(std::to_string(k));
  return fmt::format("successive halving by {}: rungs at epochs {}, with {} points",
                     halving_.spec().metric, fmt::join(rungs, ", "), fmt::join(kept, ", "));
}

}  // namespace dlx::sweep
