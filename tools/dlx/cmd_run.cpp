// `dlx run FILE`: trains the experiment and leaves a run folder. With `--nproc N`, N local
// processes train it data-parallel; under torchrun or srun, this process is one of the ranks.
#include <fstream>
#include <iostream>
#include <optional>

#include "framework/core/system.h"
#include "framework/distributed/launch.h"
#include "framework/experiment/experiment.h"
#include "framework/report/run_folder.h"
#include "framework/train/progress.h"
#include "framework/train/run.h"
#include "tools/dlx/commands.h"

namespace dlx::tools {

namespace {
struct RunArgs {
  std::string file;
  std::vector<std::string> sets;
  std::string runs;
  std::string folder;
  int64_t threads = 0;
  std::string device;
  int nproc = 1;
  int dist_timeout = 300;
  int64_t stop_after = 0;
};

// This program's arguments for each rank: --nproc removed, and the cores shared out.
std::vector<std::string> rank_arguments(const RunArgs& args) {
  std::vector<std::string> out;
  for (size_t i = 0; i < arguments.size(); ++i) {
    const std::string& a = arguments[i];
    if (a == "--nproc") {
      ++i;
      continue;
    }
    if (a.rfind("--nproc=", 0) == 0) continue;
    out.push_back(a);
  }
  if (args.threads == 0) {
    out.push_back("--threads");
    out.push_back(std::to_string(std::max(1, physical_cores() / args.nproc)));
  }
  return out;
}

int run(const RunArgs& args) {
  std::vector<std::string> notes;
  config::ExperimentSpec spec = experiment::load(args.file, parse_overrides(args.sets), &notes);
  train::RunOptions options;
  options.rendezvous = distributed::rendezvous_from_environment();
  options.dist_timeout = std::chrono::seconds(args.dist_timeout);
  const bool quiet = options.rendezvous.rank != 0;  // rank 0 speaks for the run
  for (const auto& n : notes)
    if (!quiet) std::cerr << "dlx: note: " << n << "\n";
  options.runs_root = report::runs_root(args.runs);
  options.command = command_line;
  options.live_progress = !quiet && train::Progress::stderr_is_terminal();
  options.folder = args.folder;
  options.threads = args.threads;
  options.device = args.device;
  options.stop_after = args.stop_after;
  std::ofstream discard;  // unopened: writes go nowhere
  train::RunOutcome outcome =
      train::run_experiment(std::move(spec), options, quiet ? discard : std::cout);
  // A failed run's error goes to stderr too, as every other failure does.
  if (outcome.status == report::RunStatus::kFailed) {
    std::cerr << "dlx: error: "
              << (quiet ? "rank " + std::to_string(options.rendezvous.rank) + ": " : "")
              << outcome.error << std::endl;
  }
  return outcome.exit_code;
}
}  // namespace

std::vector<std::string> child_run_arguments(const sweep::RunRequest& request) {
  std::vector<std::string> args;
  if (request.resume) {
    args = {"resume", request.folder.string()};
  } else {
    args = {"run", request.point->file.string(), "--folder", request.folder.string()};
    for (const auto& o : request.point->overrides)
      args.insert(args.end(), {"--set", o.key + "=" + o.value});
  }
  args.insert(args.end(), {"--threads", std::to_string(request.threads)});
  if (!request.device.empty()) args.insert(args.end(), {"--device", request.device});
  if (request.stop_after > 0)
    args.insert(args.end(), {"--stop-after", std::to_string(request.stop_after)});
  return args;
}

void add_run_command(CLI::App& app, Command& chosen) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd =
      app.add_subcommand("run", "train an experiment; writes runs/<experiment>/<run-id>/");
  cmd->add_option("FILE", args->file, "experiment YAML")->required();
  add_set_option(*cmd, args->sets);
  cmd->add_option("--runs", args->runs, "runs root (default $DLX_RUNS, else ./runs)");
  add_runtime_options(*cmd, args->folder, args->threads, args->device);
  add_stop_after_option(*cmd, args->stop_after);
  cmd->add_option("--nproc", args->nproc,
                  "train data-parallel in N local processes (c10d, Gloo); data.batch_size is "
                  "per process")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--dist-timeout", args->dist_timeout,
                  "seconds a rank waits on the others before the run fails (default 300)")
      ->check(CLI::Range(1, 86400));
  cmd->callback([args, &chosen] {
    chosen = [args] {
      if (args->nproc > 1) return distributed::launch_local(args->nproc, rank_arguments(*args));
      return run(*args);
    };
  });
}

}  // namespace dlx::tools
