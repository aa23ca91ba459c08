// `dlx sweep FILE... [--set key=a,b,c]`: runs every point of the grid as its own run folder under
// runs/<sweep>/, skipping what already completed; `dlx compare runs/<sweep>` tabulates them.
#include <iostream>

#include "framework/config/sweep_points.h"
#include "framework/core/error.h"
#include "framework/core/files.h"
#include "framework/report/run_folder.h"
#include "framework/sweep/runner.h"
#include "framework/sweep/slurm.h"
#include "framework/train/progress.h"
#include "tools/dlx/commands.h"

namespace dlx::tools {

namespace {
// More runs at once than any one machine has cores: a typo, not a plan.
constexpr int64_t kMostJobs = 4096;

struct SweepArgs {
  std::vector<std::string> files;
  std::vector<std::string> sets;
  std::string runs, name, devices;
  int jobs = 1;
  bool dry_run = false;
  bool slurm = false;
  int point = -1;
  int64_t samples = 0;
  int64_t slurm_throttle = 0;
};

// This program's sweep arguments for a cluster task: absolute paths, the sweep's name and runs
// root spelled out, and --slurm / --dry-run left out.
std::vector<std::string> task_command(const SweepArgs& args, const sweep::SweepOptions& options) {
  std::vector<std::string> command{std::filesystem::read_symlink("/proc/self/exe").string(),
                                   "sweep"};
  for (const auto& f : args.files) command.push_back(std::filesystem::absolute(f).string());
  for (const auto& s : args.sets) command.insert(command.end(), {"--set", s});
  if (args.samples > 0) command.insert(command.end(), {"--samples", std::to_string(args.samples)});
  command.insert(command.end(), {"--runs", std::filesystem::absolute(options.runs_root).string(),
                                 "--name", options.name});
  return command;
}

std::string default_name(const std::vector<std::string>& files) {
  std::string name;
  for (const auto& f : files) name += (name.empty() ? "" : "+") + config::load_experiment(f).name;
  return name;
}
}  // namespace

void add_sweep_command(CLI::App& app, Command& chosen) {
  auto args = std::make_shared<SweepArgs>();
  CLI::App* cmd = app.add_subcommand(
      "sweep", "run every combination of swept values as its own run under runs/<sweep>/");
  cmd->add_option("FILE", args->files, "experiment YAML files (their sweep: sections)")->required();
  cmd->add_option(
         "--set", args->sets,
         "override a key; a,b,c sweeps it, as do Hydra's range(a,b,step), choice(a,b), "
         "interval(lo,hi) and tag(log,interval(lo,hi)); e.g. --set train.optimizer.lr=0.01,0.1")
      ->take_all()
      ->allow_extra_args(false);
  CLI::Option* samples =
      cmd->add_option("--samples", args->samples,
                      "points to draw for keys given distributions (overrides sweep.samples)");
  cmd->add_option("--jobs,-j", args->jobs, "runs at once (CPU threads are divided between them)");
  cmd->add_option("--devices", args->devices,
                  "devices given round-robin to running jobs, e.g. cuda:0,cuda:1");
  cmd->add_option("--runs", args->runs, "runs root (default $DLX_RUNS, else ./runs)");
  cmd->add_option("--name", args->name,
                  "the sweep's folder name (default: the experiments' names)");
  cmd->add_flag("--dry-run", args->dry_run,
                "list the points and stop (with --slurm: print the script, write nothing)");
  cmd->add_flag("--slurm", args->slurm,
                "write runs/<sweep>/sweep.sbatch, a Slurm job array whose task i runs point i "
                "(several points, when the sweep has more than the cluster's MaxArraySize)");
  CLI::Option* throttle =
      cmd->add_option("--slurm-throttle", args->slurm_throttle,
                      "with --slurm: at most N of the array's tasks run at once (sbatch's %N)");
  CLI::Option* point = cmd->add_option(
      "--point", args->point, "run only point I (0-based), as one task of a job array does");
  cmd->callback([args, samples, throttle, point, &chosen] {
    chosen = [args, samples, throttle, point] {
      if (point->count()) check_count("--point", args->point, 0, sweep::kMostPoints - 1);
      if (samples->count()) check_count("--samples", args->samples, 1, sweep::kMostPoints);
      if (throttle->count())
        check_count("--slurm-throttle", args->slurm_throttle, 1, sweep::kMostPoints);
      check_count("--jobs", args->jobs, 1, kMostJobs);
      std::vector<std::filesystem::path> files(args->files.begin(), args->files.end());
      const sweep::Sweep search = sweep::expand(files, args->sets, args->samples);
      const std::vector<sweep::Point>& points = search.points;
      sweep::SweepOptions options;
      options.name = args->name.empty() ? default_name(args->files) : args->name;
      options.runs_root = report::runs_root(args->runs);
      if (args->slurm) {
        if (search.halving) {
          throw ConfigError::plain(
              {args->files[0]}, "sweep.halving",
              "--slurm writes a job array, whose tasks cannot wait on each other's results, as "
              "successive halving must; run the search as one job instead, e.g. srun dlx sweep "
              "FILE --jobs N");
        }
        const sweep::SlurmArray array{sweep::slurm_max_array_size(), args->slurm_throttle};
        std::string script =
            sweep::slurm_script(options, points.size(), task_command(*args, options), array);
        if (args->dry_run) {
          std::cout << script;
          return 0;
        }
        const auto file = options.runs_root / options.name / "sweep.sbatch";
        std::filesystem::create_directories(file.parent_path());
        write_file_atomic(file, script);
        const sweep::SlurmLayout layout = sweep::slurm_layout(points.size(), array.max_array_size);
        std::cout << "wrote " << file.string() << " (" << points.size() << " points in "
                  << layout.tasks << " tasks); submit it with: sbatch " << file.string() << "\n";
        return 0;
      }
      if (args->dry_run) {
        size_t i = 0;
        for (const auto& p : points) std::cout << i++ << "  " << p.label << "\n";
        return 0;
      }
      options.point = args->point;
      options.jobs = args->jobs;
      for (const auto& d : sweep::split_values(args->devices)) {
        if (!d.empty()) options.devices.push_back(d);
      }
      options.program = std::filesystem::read_symlink("/proc/self/exe");
      options.arguments = child_run_arguments;
      options.live = train::Progress::stderr_is_terminal();
      return sweep::run_sweep(search, options, std::cout).exit_code;
    };
  });
}

}  // namespace dlx::tools
