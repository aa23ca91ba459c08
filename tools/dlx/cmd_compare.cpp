// `dlx compare PATH...`: one row per run (run folders, sweep folders, report.json files), showing
// only the config keys that differ, the final and best metrics, speed, wall time and status.
#include <iostream>

#include "framework/compare/compare.h"
#include "framework/core/files.h"
#include "tools/dlx/commands.h"

namespace dlx::tools {

void add_compare_command(CLI::App& app, Command& chosen) {
  auto paths = std::make_shared<std::vector<std::string>>();
  auto options = std::make_shared<compare::Options>();
  auto no_group = std::make_shared<bool>(false);
  auto plot = std::make_shared<std::string>();
  auto html = std::make_shared<std::string>();
  CLI::App* cmd =
      app.add_subcommand("compare", "tabulate runs: the keys that differ, metrics, speed, status");
  cmd->add_option("PATH", *paths,
                  "run folders, sweep folders, report.json files or folders of runs")
      ->required();
  cmd->add_option("--metric", options->metric,
                  "what the best run is judged by (default val_acc where the runs have validation, "
                  "else test_acc)");
  cmd->add_option("--sort", options->sort,
                  "a metric or config key to sort by (best first for metrics)");
  cmd->add_option("--top", options->top, "show only the first N rows");
  cmd->add_option("--format", options->format, "table, json, csv or markdown");
  cmd->add_flag("--no-group", *no_group, "do not group runs that differ only in their seed");
  cmd->add_option("--plot", *plot,
                  "write SVG pictures into this folder: curves of the runs overlaid, and test_acc "
                  "against each swept key");
  cmd->add_option("--html", *html,
                  "write one self-contained HTML page: the sortable table, interactive curves "
                  "and per-class accuracy");
  cmd->callback([paths, options, no_group, plot, html, &chosen] {
    chosen = [paths, options, no_group, plot, html] {
      options->group_seeds = !*no_group;
      std::vector<std::filesystem::path> where(paths->begin(), paths->end());
      std::vector<compare::RunRow> rows = compare::collect(where);
      std::cout << compare::render(rows, *options);
      if (!plot->empty()) {
        for (const auto& file : compare::write_plots(rows, *plot, options->metric))
          std::cout << "wrote " << file.string() << "\n";
      }
      if (!html->empty()) {
        write_file_atomic(*html, compare::render_html(rows, *options, join(*paths)));
        std::cout << "wrote " << *html << "\n";
      }
      return 0;
    };
  });
}

}  // namespace dlx::tools
