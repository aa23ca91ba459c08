// `dlx compare PATH...`: one row per run (run folders, sweep folders, report.json files), showing
// only the config keys that differ, the final and best metrics, speed, wall time and status.
#include <iostream>

#include "framework/compare/compare.h"
#include "tools/dlx/commands.h"

namespace dlx::tools {

void add_compare_command(CLI::App& app, Command& chosen) {
  auto paths = std::make_shared<std::vector<std::string>>();
  auto options = std::make_shared<compare::Options>();
  auto no_group = std::make_shared<bool>(false);
  CLI::App* cmd =
      app.add_subcommand("compare", "tabulate runs: the keys that differ, metrics, speed, status");
  cmd->add_option("PATH", *paths,
                  "run folders, sweep folders, report.json files or folders of runs")
      ->required();
  cmd->add_option("--metric", options->metric, "what the best run is judged by (default test_acc)");
  cmd->add_option("--sort", options->sort,
                  "a metric or config key to sort by (best first for metrics)");
  cmd->add_option("--top", options->top, "show only the first N rows");
  cmd->add_option("--format", options->format, "table, json, csv or markdown");
  cmd->add_flag("--no-group", *no_group, "do not group runs that differ only in their seed");
  cmd->callback([paths, options, no_group, &chosen] {
    chosen = [paths, options, no_group] {
      options->group_seeds = !*no_group;
      std::vector<std::filesystem::path> where(paths->begin(), paths->end());
      std::cout << compare::render(compare::collect(where), *options);
      return 0;
    };
  });
}

}  // namespace dlx::tools
