// `dlx run FILE`: trains the experiment and leaves a run folder.
#include <iostream>

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
};
}  // namespace

void add_run_command(CLI::App& app, Command& chosen) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd =
      app.add_subcommand("run", "train an experiment; writes runs/<experiment>/<run-id>/");
  cmd->add_option("FILE", args->file, "experiment YAML")->required();
  add_set_option(*cmd, args->sets);
  cmd->add_option("--runs", args->runs, "runs root (default $DLX_RUNS, else ./runs)");
  add_runtime_options(*cmd, args->folder, args->threads, args->device);
  cmd->callback([args, &chosen] {
    chosen = [args] {
      config::ExperimentSpec spec =
          config::load_experiment(args->file, parse_overrides(args->sets));
      train::RunOptions options{report::runs_root(args->runs),
                                command_line,
                                train::Progress::stderr_is_terminal(),
                                args->folder,
                                args->threads,
                                args->device};
      train::RunOutcome outcome = train::run_experiment(std::move(spec), options, std::cout);
      // A failed run's error goes to stderr too, as every other failure does.
      if (outcome.status == "failed") std::cerr << "dlx: error: " << outcome.error << std::endl;
      return outcome.exit_code;
    };
  });
}

}  // namespace dlx::tools
