// A whole run: from a checked experiment spec to a run folder holding config.yaml, metrics.jsonl,
// report.json, checkpoint.pt and train_state.pt. The report is written when the run starts, after
// every epoch and at the end, whatever the end (completed, failed, diverged, interrupted), and a
// run can be resumed from its folder to the same result it would have reached uninterrupted.
#pragma once

#include <chrono>
#include <filesystem>
#include <iosfwd>
#include <string>

#include "framework/config/experiment.h"
#include "framework/distributed/group.h"
#include "framework/report/run_report.h"

namespace dlx::train {

struct RunOptions {
  std::filesystem::path runs_root = "runs";
  std::string command;  // the command line, for the report
  bool live_progress = false;
  std::filesystem::path folder;  // use exactly this (empty) run folder, as sweeps do; "" = new one
  int64_t threads = 0;           // overrides train.threads without changing the config; 0 = no
  std::string device;            // overrides train.device likewise; "" = no
  int64_t stop_after = 0;        // pause after this epoch, resumable (a search's rung); 0 = never
  distributed::Rendezvous rendezvous;      // data-parallel with world > 1; rank 0 writes the folder
  std::chrono::seconds dist_timeout{300};  // how long a rank waits on the others
};

struct RunOutcome {
  report::RunStatus status = report::RunStatus::kFailed;
  std::filesystem::path folder;
  int exit_code = 0;  // 0 completed or paused by stop_after, 1 failed, 3 diverged, 128+signal
  std::string error;  // why it failed
};

/// Runs the experiment in a new run folder, printing d2l's epoch lines to `out`.
RunOutcome run_experiment(config::ExperimentSpec spec, const RunOptions& options,
                          std::ostream& out);

/// Continues the run in `folder` from its last checkpoint (its config.yaml, with `overrides`).
/// A config that differs from the run's is a ConfigError listing the keys, unless `force`.
RunOutcome resume_run(const std::filesystem::path& folder,
                      const std::vector<config::Override>& overrides, bool force,
                      const RunOptions& options, std::ostream& out);

}  // namespace dlx::train
