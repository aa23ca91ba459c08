#include "framework/sweep/plan.h"

#include "framework/core/error.h"
#include "framework/data/dataset.h"
#include "framework/experiment/experiment.h"
#include "framework/report/run_report.h"

namespace dlx::sweep {

namespace fs = std::filesystem;
using report::RunStatus;

namespace {

// Moves an old folder out of the point's way, keeping it: label@<why>, label@<why>-2, ...
void move_aside(const fs::path& folder, const std::string& why) {
  fs::path target = folder.string() + "@" + why;
  for (int n = 2; fs::exists(target); ++n)
    target = folder.string() + "@" + why + "-" + std::to_string(n);
  fs::rename(folder, target);
}

}  // namespace

Plan decide(const Point& point, const fs::path& folder) {
  config::ExperimentSpec spec = experiment::load(point.file, point.overrides);
  experiment::build_network(
      spec);  // shapes too: every point is checked before the first run starts
  Plan plan;
  plan.point = &point;
  plan.folder = folder;
  plan.identity = config::config_identity(config::resolved_json(spec));
  plan.epochs = spec.train.epochs;
  plan.has_validation = data::has_validation(spec.data);
  plan.metrics = spec.train.metrics;
  if (!fs::exists(folder)) return plan;
  report::RunReport report;
  try {
    report = report::read_run_report(folder);
  } catch (const RuntimeError&) {
    move_aside(folder, "unreadable");
    plan.note = "an earlier folder had no readable report; kept beside";
    return plan;
  }
  // Recomputed from the report's config rather than read from its config_hash, which older
  // releases computed over every key.
  const std::string status = report::status_name(report.status);
  if (config::config_identity(report.config) != plan.identity) {
    move_aside(folder, report.config_hash.empty() ? "old" : report.config_hash);
    plan.note = "the config changed; the earlier run is kept beside";
  } else if (report::is_final(report.status)) {
    plan.action = Action::kSkip;
    plan.note = status + " earlier";
  } else if ((report.status == RunStatus::kInterrupted || report.status == RunStatus::kRunning) &&
             fs::exists(folder / "train_state.pt")) {
    plan.action = Action::kResume;
    plan.note = "resuming its " + status + " run";
  } else {
    move_aside(folder, status);
    plan.note = "re-running; the " + status + " run is kept beside";
  }
  return plan;
}

}  // namespace dlx::sweep
