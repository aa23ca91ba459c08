// `dlx resume RUN`: continues an interrupted, failed or killed run from its last checkpoint,
// in the same folder, to the same result an uninterrupted run would have reached.
#include <iostream>

#include "framework/train/progress.h"
#include "framework/train/run.h"
#include "tools/dlx/commands.h"

namespace dlx::tools {

namespace {
struct ResumeArgs {
  std::string folder;
  std::vector<std::string> sets;
  bool force = false;
  int64_t threads = 0;
  std::string device;
  int64_t stop_after = 0;
};
}  // namespace

void add_resume_command(CLI::App& app, Command& chosen) {
  auto args = std::make_shared<ResumeArgs>();
  CLI::App* cmd = app.add_subcommand("resume", "continue a run from its last checkpoint, exactly");
  cmd->add_option("RUN", args->folder, "the run folder (runs/<experiment>/<run-id>)")->required();
  add_set_option(*cmd, args->sets);
  cmd->add_option("--threads", args->threads,
                  "CPU threads for this session (overrides train.threads)");
  cmd->add_option("--device", args->device, "device for this session (overrides train.device)");
  add_stop_after_option(*cmd, args->stop_after);
  cmd->add_flag("--force", args->force,
                "resume even if the config differs from the run's, or the run had ended");
  cmd->callback([args, &chosen] {
    chosen = [args] {
      train::RunOptions options;
      options.command = command_line;
      options.live_progress = train::Progress::stderr_is_terminal();
      options.threads = args->threads;
      options.device = args->device;
      options.stop_after = args->stop_after;
      train::RunOutcome outcome = train::resume_run(args->folder, parse_overrides(args->sets),
                                                    args->force, options, std::cout);
      if (outcome.status == report::RunStatus::kFailed)
        std::cerr << "dlx: error: " << outcome.error << std::endl;
      return outcome.exit_code;
    };
  });
}

}  // namespace dlx::tools
