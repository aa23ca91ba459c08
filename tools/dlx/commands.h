// The dlx program's subcommands: each file adds one to the CLI11 app and sets `chosen` to the
// function that runs it. The functions throw the library's errors; main catches them once.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "framework/config/experiment.h"
#include "framework/config/tree.h"
#include "framework/nn/builder.h"
#include "framework/sweep/runner.h"

namespace dlx::tools {

using Command = std::function<int()>;

void add_run_command(CLI::App& app, Command& chosen);
void add_shapes_command(CLI::App& app, Command& chosen);
void add_validate_command(CLI::App& app, Command& chosen);
void add_layers_command(CLI::App& app, Command& chosen);
void add_keys_command(CLI::App& app, Command& chosen);
void add_resume_command(CLI::App& app, Command& chosen);
void add_sweep_command(CLI::App& app, Command& chosen);
void add_compare_command(CLI::App& app, Command& chosen);
void add_predict_command(CLI::App& app, Command& chosen);
void add_export_command(CLI::App& app, Command& chosen);
/// `dlx completion` and `dlx man`, written from the app's own subcommands and options.
void add_help_file_commands(CLI::App& app, Command& chosen);

/// Adds the repeatable `--set key=value` option.
void add_set_option(CLI::App& command, std::vector<std::string>& sets);
/// Adds `--folder`, `--threads` and `--device`: how and where a run happens, outside its config.
void add_runtime_options(CLI::App& command, std::string& folder, int64_t& threads,
                         std::string& device);
/// Adds `--stop-after E`: pause after epoch E, resumable (a search's rung).
void add_stop_after_option(CLI::App& command, int64_t& stop_after);
/// The arguments of `dlx run` or `dlx resume` for one run of a sweep (defined beside their
/// options, in cmd_run.cpp).
std::vector<std::string> child_run_arguments(const sweep::RunRequest& request);
/// Refuses a count typed for `option` outside [lo, hi] in one line, before any work (CLI11's
/// PositiveNumber would name its range as running up to the largest double, 309 digits long).
void check_count(const std::string& option, int64_t value, int64_t lo, int64_t hi);
/// Starts `network` from model.weights (if any) and says what training will start with: the
/// weights' notes, then, with weights, freezing or parameter groups, a row per top-level block of
/// its parameters loaded, new and frozen and their learning rates (defined in cmd_validate.cpp,
/// for validate and shapes).
std::string start_plan(const config::ExperimentSpec& spec, nn::Network& network);
/// Parses the `--set` texts.
std::vector<config::Override> parse_overrides(const std::vector<std::string>& sets);

/// The command line as typed, for the report.
extern std::string command_line;
/// The arguments after the program's name, for starting copies of this program.
extern std::vector<std::string> arguments;

}  // namespace dlx::tools
