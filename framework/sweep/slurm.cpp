#include "framework/sweep/slurm.h"

#include <fmt/format.h>

namespace dlx::sweep {

namespace fs = std::filesystem;

namespace {
std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
}  // namespace

std::string slurm_script(const SweepOptions& options, size_t count,
                         const std::vector<std::string>& command) {
  const fs::path root = fs::absolute(options.runs_root / options.name);
  std::string line;
  for (const auto& word : command) line += shell_quoted(word) + " ";
  return fmt::format(
      "#!/bin/bash\n"
      "# dlx sweep {0} as a Slurm job array: task i runs point i ('dlx sweep ... --dry-run' lists\n"
      "# them) into {1}. A task is idempotent, as a local sweep is: run again, it skips a\n"
      "# completed point and resumes an interrupted one. Add #SBATCH lines (partition, time,\n"
      "# cpus, gres) here or on sbatch's command line. Submit: sbatch {2}\n"
      "# Then: dlx compare {1}\n"
      "#SBATCH --job-name=dlx-{0}\n"
      "#SBATCH --array=0-{3}\n"
      "#SBATCH --output={1}/slurm-%A_%a.out\n"
      "set -euo pipefail\n"
      "cd {4}\n"
      "exec {5}--point \"$SLURM_ARRAY_TASK_ID\"\n",
      options.name, root.string(), (root / "sweep.sbatch").string(), count - 1,
      shell_quoted(fs::current_path().string()), line);
}

}  // namespace dlx::sweep
