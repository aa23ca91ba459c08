// Reads run reports (run folders, sweep folders, report.json files, or folders of runs) and
// tabulates them: one row per run with only the config keys that differ between the runs, final
// and best metrics, speed, wall time and status; the best run marked; runs that differ only in
// their seed grouped as mean ± std. A missing or corrupt report is a row that says so. It reads
// files and never trains.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "framework/report/chart.h"
#include "framework/report/run_report.h"

namespace dlx::compare {

using Json = nlohmann::ordered_json;

struct RunRow {
  std::string label;                        // the run's folder, relative to the paths given
  std::string status;                       // completed, ..., mixed, or "unreadable: <why>"
  Json config = Json::object();             // flattened: dotted key -> value, defaults filled
  Json final = Json::object();              // the report's final figures by name
  int count = 1;                            // runs in this row (seed groups)
  Json spread = Json::object();             // metric -> std over a group's runs
  std::vector<report::EpochRecord> epochs;  // the report's per-epoch records
  std::vector<std::vector<report::EpochRecord>> members;  // a seed group's runs' epochs
  std::optional<report::ClassRecord> classes;             // the last evaluation per class
};

/// Finds the runs under `paths`. A path that does not exist is a RuntimeError.
std::vector<RunRow> collect(const std::vector<std::filesystem::path>& paths);

struct Options {
  std::string metric;  // what "best" means (lower is better for *loss*); "" = val_acc where the
                       // runs have validation, else test_acc
  std::string sort;    // a metric or a config key; "" keeps the order found
  int top = 0;         // keep the first N rows after sorting; 0 = all
  std::string format = "table";  // table | json | csv | markdown
  bool group_seeds = true;
};

/// The config keys whose values differ between the rows.
std::vector<std::string> differing_keys(const std::vector<RunRow>& rows);

/// Groups rows that differ only in train.seed: metrics become means, with their std in `spread`.
std::vector<RunRow> group_by_seed(const std::vector<RunRow>& rows);

/// The rows as shown: seed groups formed, sorted, cut to --top, the best one found.
struct Comparison {
  std::vector<RunRow> rows;
  std::vector<std::string> keys;     // the config keys that differ
  std::vector<std::string> metrics;  // the final figures shown: those some row has
  std::string metric;                // what the best run was judged by
  int best = -1;                     // index into rows, or -1
};
/// What the best run is judged by: `asked` ("val_top5_acc"; a bare metric, "top5_acc", on
/// validation where the runs have it, else on test), or by default val_acc where the runs have
/// it, else test_acc.
std::string judging_metric(const std::vector<RunRow>& rows, const std::string& asked);

Comparison prepare(std::vector<RunRow> rows, const Options& options);

/// What "best" means unless --metric says: validation accuracy where the runs have it (choosing
/// on the test set would make it a validation set), else test accuracy.
std::string default_metric(const std::vector<RunRow>& rows);

/// For runs that trained fewer epochs than train.epochs (a successive-halving search, or early
/// stopping): the best run and the epochs trained in all against every run to the end; else "".
std::string search_line(const Comparison& comparison);

/// The rows as `--format json` prints them.
Json to_json(const Comparison& comparison);

/// The comparison in the chosen format.
std::string render(std::vector<RunRow> rows, const Options& options);

/// One self-contained HTML page (no network needed to open it): the sortable table, each run's
/// curves overlaid in interactive charts (uPlot, embedded at build time) and per-class accuracy.
std::string render_html(std::vector<RunRow> rows, const Options& options, const std::string& title);

/// The final `metric` against the swept `key`, one series per combination of the `others` keys'
/// values (and of the epochs trained, where runs trained different numbers); a log axis when the
/// values span a factor of 10 or more. Rows without a number for either are left out.
report::Chart metric_against(const std::vector<RunRow>& rows, const std::string& key,
                             const std::vector<std::string>& others, const std::string& metric);

/// Writes the comparison's pictures into `folder` and returns their paths: test accuracy and train
/// loss per epoch with the runs overlaid, and for each swept numeric key the final `metric` ("":
/// default_metric) against it (a log axis when its values span a factor of 10 or more; runs that
/// trained different numbers of epochs, as a search's pruned ones, drawn apart by epochs).
std::vector<std::filesystem::path> write_plots(const std::vector<RunRow>& rows,
                                               const std::filesystem::path& folder,
                                               const std::string& metric = "");

/// A value as a table cell shows it: "-" for none, numbers to 4 significant digits.
std::string cell_text(const Json& value);

}  // namespace dlx::compare
