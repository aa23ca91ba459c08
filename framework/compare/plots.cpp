// `dlx compare --plot`: the runs' curves overlaid, and the final metric against each swept key.
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

bool epochs_differ(const std::vector<RunRow>& rows) {
  for (const auto& r : rows)
    if (r.epochs.size() != rows.front().epochs.size()) return true;
  return false;
}

}  // namespace

report::Chart metric_against(const std::vector<RunRow>& rows, const std::string& key,
                             const std::vector<std::string>& others, const std::string& metric) {
  report::Chart chart{metric + " vs " + key, key, false, {}};
  const bool by_epochs = epochs_differ(rows);
  std::map<std::string, size_t> line_of;
  double lo = 0, hi = 0;
  for (const auto& r : rows) {
    if (!r.config.contains(key) || !r.config[key].is_number() || !r.final.contains(metric) ||
        !r.final[metric].is_number())
      continue;
    std::string line;
    for (const auto& o : others) {
      if (o != key)
        line += (line.empty() ? "" : ",") + o + "=" +
                cell_text(r.config.contains(o) ? r.config[o] : Json());
    }
    if (by_epochs) line += (line.empty() ? "" : ",") + std::to_string(r.epochs.size()) + " epochs";
    if (!line_of.count(line))
      line_of[line] = chart.series.size(),
      chart.series.push_back({line.empty() ? metric : line, {}});
    double x = r.config[key];
    chart.series[line_of[line]].points.push_back({x, r.final[metric]});
    lo = lo == 0 ? x : std::min(lo, x), hi = std::max(hi, x);
  }
  for (auto& s : chart.series) std::sort(s.points.begin(), s.points.end());
  chart.log_x = lo > 0 && hi / lo >= 10;
  return chart;
}

std::vector<fs::path> write_plots(const std::vector<RunRow>& rows, const fs::path& folder,
                                  const std::string& metric) {
  const std::string judged = judging_metric(rows, metric);
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
    report::Chart chart = metric_against(rows, key, keys, judged);
    if (chart.series.empty()) continue;
    written.push_back(folder / (judged + "-vs-" + key + ".svg"));
    write_file_atomic(written.back(), report::render_svg(chart));
  }
  return written;
}

}  // namespace dlx::compare
