// `dlx sweep FILE... [--set key=a,b,c]`: runs every point of the grid as its own run folder under
// runs/<sweep>/, skipping what already completed; `dlx compare runs/<sweep>` tabulates them.
#include <iostream>

#include "framework/report/run_folder.h"
#include "framework/sweep/runner.h"
#include "framework/train/progress.h"
#include "tools/dlx/commands.h"

namespace dlx::tools {

namespace {
struct SweepArgs {
  std::vector<std::string> files;
  std::vector<std::string> sets;
  std::string runs, name, devices;
  int jobs = 1;
  bool dry_run = false;
};

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
         "override a key; a,b,c sweeps it (Hydra's syntax), e.g. --set train.optimizer.lr=0.01,0.1")
      ->take_all()
      ->allow_extra_args(false);
  cmd->add_option("--jobs,-j", args->jobs, "runs at once (CPU threads are divided between them)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--devices", args->devices,
                  "devices given round-robin to running jobs, e.g. cuda:0,cuda:1");
  cmd->add_option("--runs", args->runs, "runs root (default $DLX_RUNS, else ./runs)");
  cmd->add_option("--name", args->name,
                  "the sweep's folder name (default: the experiments' names)");
  cmd->add_flag("--dry-run", args->dry_run, "list the points and stop");
  cmd->callback([args, &chosen] {
    chosen = [args] {
      std::vector<std::filesystem::path> files(args->files.begin(), args->files.end());
      std::vector<sweep::Point> points = sweep::expand(files, args->sets);
      if (args->dry_run) {
        for (const auto& p : points) std::cout << p.label << "\n";
        return 0;
      }
      sweep::SweepOptions options;
      options.name = args->name.empty() ? default_name(args->files) : args->name;
      options.runs_root = report::runs_root(args->runs);
      options.jobs = args->jobs;
      for (const auto& d : sweep::split_values(args->devices)) {
        if (!d.empty()) options.devices.push_back(d);
      }
      options.program = std::filesystem::read_symlink("/proc/self/exe");
      options.live = train::Progress::stderr_is_terminal();
      return sweep::run_sweep(points, options, std::cout).exit_code;
    };
  });
}

}  // namespace dlx::tools
