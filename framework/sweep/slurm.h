// A sweep as Slurm job arrays: each task runs one point (or, for a sweep larger than the
// cluster's MaxArraySize, several) into the sweep's folder on a shared file system,
// idempotently, as a local sweep would.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "framework/sweep/runner.h"

namespace dlx::sweep {

/// Slurm's default MaxArraySize: array indices run from 0 to 1000.
constexpr int64_t kDefaultMaxArraySize = 1001;

/// How a sweep's points are laid out as a job array.
struct SlurmArray {
  int64_t max_array_size = kDefaultMaxArraySize;  // the cluster's MaxArraySize
  int64_t throttle = 0;  // at most this many tasks running at once (`%N`); 0: no bound
};

/// A job array's shape: `tasks` tasks, each running `per_task` consecutive points (the last
/// perhaps fewer): the fewest points per task that keep the indices below MaxArraySize.
struct SlurmLayout {
  size_t tasks = 0, per_task = 1;
};
SlurmLayout slurm_layout(size_t count, int64_t max_array_size);

/// The cluster's MaxArraySize, from `scontrol show config` (which honours $SLURM_CONF), or
/// kDefaultMaxArraySize when scontrol is missing or does not answer within seconds.
int64_t slurm_max_array_size();

/// An sbatch script for a job array over `count` points; a task runs `command` (this program's
/// sweep arguments, absolute) with `--point i`, into the sweep's folder on the shared file system.
/// The array has at most `array.max_array_size` tasks: past that, each task runs several
/// consecutive points, one after the other.
std::string slurm_script(const SweepOptions& options, size_t count,
                         const std::vector<std::string>& command, const SlurmArray& array = {});

}  // namespace dlx::sweep
