// `dlx compare --plot`: the runs' curves overlaid, and the final test accuracy against each
// swept key.
#include <algorithm>
#include <map>

#include "framework/compare/compare.h"
#include "framework/core/error.h"
#include "framework/core/files.h"
#include "framework/report/chart.h"

namespace dlx::compare {

namespace fs = std::filesystem;

namespace {

report::Chart per_epoch(const std::vector<RunRow>& rows, const std::string& metric) {
  report::Chart chart{metric + " per epoch", "epoch", false, {}};
  for (const auto& r : rows) {
    report::ChartSeries s{r.label, {}};
    for (const auto& record : r.epochs) {
      const Json e = record.to_json();
      if (e.contains(metric) && e[metric].is_number())
        s.points.push_back({double(record.epoch), e[metric]});
    }
    if (!s.points.empty()) chart.series.push_back(s);
  }
  return chart;
}

// The final test accuracy against `key`, one line per combination of the other swept keys.
report::Chart against_key(const std::vector<RunRow>& rows, const std::string& key,
                          const std::vector<std::string>& others) {
  report::Chart chart{"test_acc vs " + key, key, false, {}};
  std::map<std::string, size_t> line_of;
  double lo = 0, hi = 0;
  for (const auto& r : rows) {
    if (!r.config.contains(key) || !r.config[key].is_number() || !r.final.contains("test_acc"))
      continue;
    std::string line;
    for (const auto& o : others) {
      if (o != key)
        line += (line.empty() ? "" : ",") + o + "=" +
                cell_text(r.config.contains(o) ? r.config[o] : Json());
    }
    if (!line_of.count(line))
      line_of[line] = chart.series.size(),
      chart.series.push_back({line.empty() ? "test_acc" : line, {}});
    double x = r.config[key];
    chart.series[line_of[line]].points.push_back({x, r.final["test_acc"]});
    lo = lo == 0 ? x : std::min(lo, x), hi = std::max(hi, x);
  }
  for (auto& s : chart.series) std::sort(s.points.begin(), s.points.end());
  chart.log_x = lo > 0 && hi / lo >= 10;
  return chart;
}

}  // namespace

std::vector<fs::path> write_plots(const std::vector<RunRow>& rows, const fs::path& folder) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw RuntimeError(folder.string() + ": cannot create: " + ec.message());
  std::vector<fs::path> written;
  for (const char* metric : {"test_acc", "train_loss"}) {
    written.push_back(folder / (std::string(metric) + ".svg"));
    write_file_atomic(written.back(), report::render_svg(per_epoch(rows, metric)));
  }
  std::vector<std::string> keys = differing_keys(rows);
  for (const auto& key : keys) {
    if (key == "train.seed") continue;
    report::Chart chart = against_key(rows, key, keys);
    if (chart.series.empty()) continue;
    written.push_back(folder / ("test_acc-vs-" + key + ".svg"));
    write_file_atomic(written.back(), report::render_svg(chart));
  }
  return written;
}

}  // namespace dlx::compare
