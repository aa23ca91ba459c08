// A sweep as a Slurm job array: task i runs point i into the sweep's folder on a shared file
// system, idempotently, as a local sweep would.
#pragma once

#include <string>
#include <vector>

#include "framework/sweep/runner.h"

namespace dlx::sweep {

/// An sbatch script for a Slurm job array of `count` tasks; task i runs `command` (this program's
/// sweep arguments, absolute) with `--point i`, into the sweep's folder on the shared file system.
std::string slurm_script(const SweepOptions& options, size_t count,
                         const std::vector<std::string>& command);

}  // namespace dlx::sweep
