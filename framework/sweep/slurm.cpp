#include "framework/sweep/slurm.h"

#include <fmt/format.h>

#include <regex>

#include "framework/core/process.h"

namespace dlx::sweep {

namespace fs = std::filesystem;

namespace {
std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The script's last lines: run the task's point, or its run of `per_task` points (a failed point
// does not stop the others; the task fails if any did).
std::string task_lines(const std::string& command, size_t count, size_t per_task) {
  if (per_task == 1) return "exec " + command + "--point \"$SLURM_ARRAY_TASK_ID\"\n";
  return fmt::format(
      "status=0\n"
      "first=$((SLURM_ARRAY_TASK_ID * {0}))\n"
      "for ((point = first; point < first + {0} && point < {1}; point++)); do\n"
      "  {2}--point \"$point\" || status=1\n"
      "done\n"
      "exit \"$status\"\n",
      per_task, count, command);
}
}  // namespace

SlurmLayout slurm_layout(size_t count, int64_t max_array_size) {
  const size_t most = size_t(std::max<int64_t>(max_array_size, 1));
  const size_t per_task = std::max<size_t>((count + most - 1) / most, 1);
  return {(count + per_task - 1) / per_task, per_task};
}

int64_t slurm_max_array_size() {
  // A controller that does not answer would keep scontrol retrying for a minute.
  const auto out = command_output("timeout 10 scontrol show config 2>/dev/null");
  std::smatch m;
  static const std::regex line(R"((?:^|\n)MaxArraySize\s*=\s*(\d+))");
  if (!out || !std::regex_search(*out, m, line)) return kDefaultMaxArraySize;
  const int64_t size = std::stoll(m[1].str());
  return size > 0 ? size : kDefaultMaxArraySize;
}

std::string slurm_script(const SweepOptions& options, size_t count,
                         const std::vector<std::string>& command, const SlurmArray& array) {
  const fs::path root = fs::absolute(options.runs_root / options.name);
  std::string line;
  for (const auto& word : command) line += shell_quoted(word) + " ";
  const auto [tasks, per_task] = slurm_layout(count, array.max_array_size);
  const std::string throttle = array.throttle > 0 ? "%" + std::to_string(array.throttle) : "";
  const std::string layout =
      per_task == 1 ? "task i runs point i"
                    : fmt::format(
                          "task i runs points {0}i to {0}i+{1} (the {2} points are more "
                          "than\n# MaxArraySize, {3}, allows tasks)",
                          per_task, per_task - 1, count, array.max_array_size);
  return fmt::format(
      "#!/bin/bash\n"
      "# dlx sweep {0} as a Slurm job array: {6} ('dlx sweep ... --dry-run'\n"
      "# lists them) into {1}. A task is idempotent, as a local sweep is: run again, it skips a\n"
      "# completed point and resumes an interrupted one. Add #SBATCH lines (partition, time,\n"
      "# cpus, gres) here or on sbatch's command line. Submit: sbatch {2}\n"
      "# Then: dlx compare {1}\n"
      "#SBATCH --job-name=dlx-{0}\n"
      "#SBATCH --array=0-{3}{7}\n"
      "#SBATCH --output={1}/slurm-%A_%a.out\n"
      "set -euo pipefail\n"
      "cd {4}\n"
      "{5}",
      options.name, root.string(), (root / "sweep.sbatch").string(), tasks - 1,
      shell_quoted(fs::current_path().string()), task_lines(line, count, per_task), layout,
      throttle);
}

}  // namespace dlx::sweep
