// Runs a sweep's points as ordinary run folders under runs/<sweep>/<label>/, each in its own dlx
// process (so that each has its own thread pool, and a crash stops only that run), `jobs` at a
// time. A point's identity is the hash of its resolved config: run again, a sweep skips completed
// points, resumes interrupted or killed ones from their checkpoints, re-runs failed ones (keeping
// the failed folder beside), and moves aside a folder whose config changed. runs/<sweep>/sweep.json
// indexes the points and is rewritten atomically as each run ends.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include "framework/sweep/points.h"

namespace dlx::sweep {

struct SweepOptions {
  std::string name;  // runs/<name>/
  std::filesystem::path runs_root = "runs";
  int jobs = 1;                      // runs at once
  std::vector<std::string> devices;  // given round-robin to running jobs; empty: each run's own
  std::filesystem::path program;     // the dlx binary that runs one point
  bool live = false;                 // redraw one line per running run (a terminal)
  int point = -1;  // run only this point (0-based), as one task of a job array; -1 = all.
                   // Tasks run at once on a cluster, so they leave sweep.json alone.
};

struct SweepResult {
  int completed = 0, skipped = 0, failed = 0, diverged = 0, interrupted = 0;
  int exit_code = 0;  // 0 when every point completed; 128+signal when interrupted; else 1
};

/// Checks every point's config and shapes first (a ConfigError stops the sweep before any run).
SweepResult run_sweep(const std::vector<Point>& points, const SweepOptions& options,
                      std::ostream& out);

/// An sbatch script for a Slurm job array of `count` tasks; task i runs `command` (this program's
/// sweep arguments, absolute) with `--point i`, into the sweep's folder on the shared file system.
std::string slurm_script(const SweepOptions& options, size_t count,
                         const std::vector<std::string>& command);

}  // namespace dlx::sweep
