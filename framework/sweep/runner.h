// Runs a sweep's points as ordinary run folders under runs/<sweep>/<label>/, each in its own dlx
// process (so that each has its own thread pool, and a crash stops only that run), `jobs` at a
// time. A point's identity is its config's identity (its non-default values): run again, a sweep
// skips completed points, resumes interrupted or killed ones from their checkpoints, re-runs
// failed ones (keeping the failed folder beside), and moves aside a folder whose config changed.
// runs/<sweep>/sweep.json indexes the points and is rewritten atomically as each run ends.
#pragma once

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "framework/config/sweep_points.h"

namespace dlx::sweep {

/// One run a sweep starts: a new run of a point, or the resumption of its folder.
struct RunRequest {
  const Point* point = nullptr;
  std::filesystem::path folder;
  bool resume = false;
  int threads = 1;
  std::string device;      // "" = the point's own train.device
  int64_t stop_after = 0;  // pause after this epoch (a rung of successive halving); 0 = never
};

struct SweepOptions {
  std::string name;  // runs/<name>/
  std::filesystem::path runs_root = "runs";
  int jobs = 1;                      // runs at once
  std::vector<std::string> devices;  // given round-robin to running jobs; empty: each run's own
  std::filesystem::path program;     // the dlx binary that runs one point
  /// The program's arguments for one run: the program's own command-line syntax, which the
  /// program defines (tools/dlx).
  std::function<std::vector<std::string>(const RunRequest&)> arguments;
  bool live = false;  // redraw one line per running run (a terminal)
  int point = -1;     // run only this point (0-based), as one task of a job array; -1 = all.
                      // Tasks run at once on a cluster, so they leave sweep.json alone.
};

struct SweepResult {
  int completed = 0, skipped = 0, failed = 0, diverged = 0, interrupted = 0;
  int pruned = 0;  // by successive halving (their runs say completed)
  int ended() const { return completed + skipped + failed + diverged + interrupted + pruned; }
  int exit_code = 0;  // 0 when every point completed; 128+signal when interrupted; else 1
};

/// Checks every point's config and shapes first (a ConfigError stops the sweep before any run).
/// With sweep.halving, points are trained rung by rung and the worse pruned (halving_runs.h).
SweepResult run_sweep(const Sweep& sweep, const SweepOptions& options, std::ostream& out);

}  // namespace dlx::sweep
