// dlx: declarative deep-learning experiments on LibTorch. Parses arguments, runs one subcommand,
// and turns any error into one line on stderr: exit 2 for a mistake in the user's input, 1 for a
// failure of the run or the machine.
#include <malloc.h>

#include <csignal>
#include <iostream>

#include <torch/version.h>

#include "framework/core/error.h"
#include "tools/dlx/commands.h"

namespace dlx::tools {

std::string command_line;
std::vector<std::string> arguments;

void add_set_option(CLI::App& command, std::vector<std::string>& sets) {
  command
      .add_option("--set", sets,
                  "override a key after loading, e.g. --set train.optimizer.lr=0.03 (repeatable)")
      ->take_all()
      ->allow_extra_args(false);
}

void add_runtime_options(CLI::App& command, std::string& folder, int64_t& threads,
                         std::string& device) {
  command.add_option("--folder", folder, "use exactly this run folder (as sweeps do)");
  command.add_option("--threads", threads, "CPU threads for this run (overrides train.threads)");
  command.add_option("--device", device, "device for this run (overrides train.device)");
}

void add_stop_after_option(CLI::App& command, int64_t& stop_after) {
  command
      .add_option("--stop-after", stop_after,
                  "pause after epoch E (checkpoint, status interrupted, exit 0), to be resumed: "
                  "what a successive-halving search does at each rung")
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
}

void check_count(const std::string& option, int64_t value, int64_t lo, int64_t hi) {
  if (value < lo || value > hi) {
    throw ConfigError({option}, "",
                      "an integer from " + std::to_string(lo) + " to " + std::to_string(hi),
                      std::to_string(value));
  }
}

std::vector<config::Override> parse_overrides(const std::vector<std::string>& sets) {
  std::vector<config::Override> out;
  for (const auto& text : sets) out.push_back(config::parse_override(text));
  return out;
}

}  // namespace dlx::tools

int main(int argc, char** argv) {
  using namespace dlx;
  for (int i = 0; i < argc; ++i) tools::command_line += (i ? " " : "") + std::string(argv[i]);
  tools::arguments.assign(argv + std::min(argc, 1), argv + argc);

  // Keep freed memory for reuse instead of giving it back to the kernel: every batch allocates
  // buffers of the same large sizes, and glibc by default maps and unmaps them each time, so
  // each batch paid again for faulting in and zeroing fresh pages. Measured on a 2-core VM,
  // 64x64 RGB images from the memory cache: 14,000 images/s before, 100,000 after.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 256 << 20);
  // A write past a file-size limit (a full disk's stand-in) should fail with EFBIG, not kill us.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"dlx: declarative deep-learning experiments on LibTorch"};
  app.require_subcommand(1);
  tools::Command chosen;
  tools::add_run_command(app, chosen);
  tools::add_shapes_command(app, chosen);
  tools::add_validate_command(app, chosen);
  tools::add_layers_command(app, chosen);
  tools::add_keys_command(app, chosen);
  tools::add_resume_command(app, chosen);
  tools::add_sweep_command(app, chosen);
  tools::add_compare_command(app, chosen);
  tools::add_predict_command(app, chosen);
  tools::add_export_command(app, chosen);
  tools::add_help_file_commands(app, chosen);
  app.set_version_flag("--version",
                       std::string("dlx ") + DLX_VERSION + " (LibTorch " + TORCH_VERSION + ")");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end here too, with code 0; a mistake is one line, as every error is.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "dlx: error: " << e.what() << " (--help lists the options)" << std::endl;
    return 2;
  }
  try {
    return chosen();
  } catch (const ConfigError& e) {
    std::cerr << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "dlx: error: " << error_message(e) << std::endl;
    return 1;
  }
}
