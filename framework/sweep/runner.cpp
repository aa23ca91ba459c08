#include "framework/sweep/runner.h"

#include <fmt/format.h>

#include <memory>
#include <ostream>
#include <set>

#include "framework/core/error.h"
#include "framework/sweep/halving_runs.h"
#include "framework/sweep/plan.h"
#include "framework/sweep/scheduler.h"

namespace dlx::sweep {

namespace fs = std::filesystem;

namespace {

// The points this process runs: all of them, or one task's.
std::vector<Point> chosen_points(const std::vector<Point>& points, int point) {
  if (point < 0) return points;
  if (size_t(point) >= points.size()) {
    throw ConfigError::plain({"--point"}, "",
                             "the sweep has points 0 to " + std::to_string(points.size() - 1) +
                                 ", found " + std::to_string(point));
  }
  return {points[point]};
}

std::vector<Plan> plan_all(const std::vector<Point>& points, const fs::path& root) {
  std::vector<Plan> plans;
  std::set<std::string> labels;
  for (const auto& p : points) {
    if (!labels.insert(p.label).second) {
      throw ConfigError::plain({p.file.string()}, "",
                               "two points of the sweep share the label " + p.label);
    }
    plans.push_back(decide(p, root / p.label));
  }
  return plans;
}

// "trained 21 epochs in all; every point to the end would train 81"
std::string epochs_trained(const report::SweepIndex& index, const std::vector<Plan>& plans) {
  int64_t trained = 0, grid = 0;
  for (size_t i = 0; i < plans.size(); ++i) {
    const auto& final = index.points[i].final;
    if (final && final->last) trained += final->last->epoch;
    grid += plans[i].epochs;
  }
  return fmt::format("trained {} epochs in all; every point to the end would train {}", trained,
                     grid);
}

}  // namespace

SweepResult run_sweep(const Sweep& sweep, const SweepOptions& options, std::ostream& out) {
  const fs::path root = options.runs_root / options.name;
  if (sweep.halving && options.point >= 0) {
    throw ConfigError::plain({"--point"}, "sweep.halving",
                             "a successive-halving search decides between its points as they "
                             "end, so it cannot run one point alone");
  }
  fs::create_directories(root);
  const std::vector<Point> chosen = chosen_points(sweep.points, options.point);
  const std::vector<Plan> plans = plan_all(chosen, root);
  Index index = make_index(root, options.name, plans, options.point < 0);
  SweepResult result;
  std::vector<size_t> pending;
  for (size_t i = 0; i < plans.size(); ++i) {
    if (!plans[i].note.empty()) out << plans[i].point->label << ": " << plans[i].note << "\n";
    if (plans[i].action != Action::kSkip) {
      pending.push_back(i);
      continue;
    }
    if (index.update(i, plans[i].folder) == report::RunStatus::kDiverged) ++result.diverged;
    ++result.skipped;
  }
  index.save();
  std::unique_ptr<Work> work;
  if (sweep.halving) {
    auto halving = std::make_unique<HalvingRuns>(*sweep.halving, plans, index, result, out);
    out << halving->describe() << std::endl;
    work = std::move(halving);
  } else {
    work = std::make_unique<EveryPoint>(plans, pending);
  }
  Scheduler scheduler(plans, *work, index, options, result, out);
  out << fmt::format(
             "sweep {}: {} points, {} done earlier, {} to run, {} at a time ({} threads each) -> "
             "{}",
             options.name, plans.size(), result.skipped, work->not_started(),
             std::max(1, options.jobs), scheduler.threads(), root.string())
      << std::endl;
  const int signal = scheduler.run();
  out << fmt::format(
             "sweep {}: {} completed, {}{} done earlier, {} failed, {} diverged, {} interrupted, "
             "{} not started",
             options.name, result.completed,
             sweep.halving ? std::to_string(result.pruned) + " pruned, " : "", result.skipped,
             result.failed, result.diverged, result.interrupted, scheduler.not_started())
      << std::endl;
  if (sweep.halving) out << epochs_trained(index.doc, plans) << std::endl;
  if (signal)
    result.exit_code = 128 + signal;
  else if (result.failed || result.diverged || result.interrupted)
    result.exit_code = 1;
  return result;
}

}  // namespace dlx::sweep
