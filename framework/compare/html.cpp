// `dlx compare --html`: the page template (page.html) with uPlot and the runs' data filled in.
// All three are compiled into dlx (see cmake/embed.cmake), so the page needs no network and dlx
// needs no files at run time.
#include <algorithm>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>

#include "framework/compare/compare.h"
#include "framework/core/system.h"
#include "framework/metrics/metric.h"

namespace dlx::compare {

namespace assets {
extern const std::string_view page_html, uplot_js, uplot_css;
}

namespace {

// Inside <script>, "</script>" or "<!--" in a string would end or confuse the element: JSON
// allows '<' to be written as \u003c, and '<' appears only inside strings.
std::string script_safe(const std::string& json) {
  std::string out;
  out.reserve(json.size());
  for (char c : json) {
    if (c == '<')
      out += "\\u003c";
    else
      out += c;
  }
  return out;
}

void fill(std::string& page, std::string_view marker, std::string_view content) {
  const size_t at = page.find(marker);
  if (at != std::string::npos) page.replace(at, marker.size(), content);
}

// Where a recorded figure ("val_top5_acc", "ema_test_acc") sits among the charts: by metric
// (loss, acc, the others), then the live weights before the EMA's, then split; none for what is
// no metric (lr, timings).
std::optional<std::tuple<int, std::string, int, int>> chart_order(const std::string& name) {
  const bool ema = name.rfind("ema_", 0) == 0;
  const auto key = metrics::parse_metric(ema ? name.substr(4) : name);
  if (!key) return std::nullopt;
  const std::string& m = key->metric->name;
  const auto& splits = metrics::splits();
  const int split = int(std::find(splits.begin(), splits.end(), key->split) - splits.begin());
  return std::make_tuple(m == "loss" ? 0 : m == "acc" ? 1 : 2, m, int(ema), split);
}

// Every per-epoch metric that some run recorded, in chart order.
std::vector<std::string> curve_metrics(const Comparison& c) {
  std::set<std::string> names;
  for (const auto& row : c.rows)
    for (const auto& e : row.epochs) {
      const Json record = e.to_json();
      for (const auto& [name, value] : record.items())
        if (value.is_number() && chart_order(name)) names.insert(name);
    }
  std::vector<std::string> out(names.begin(), names.end());
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return *chart_order(a) < *chart_order(b);
  });
  return out;
}

// Each row's curves; a seed group's are its runs' mean, with their least and greatest values
// for a band around it.
Json curves_json(const Comparison& c, const std::vector<std::string>& drawn) {
  Json curves = Json::array();
  for (const auto& row : c.rows) {
    std::vector<std::vector<report::EpochRecord>> runs = row.members;
    if (runs.empty()) runs.push_back(row.epochs);
    size_t epochs = runs[0].size();
    for (const auto& r : runs) epochs = std::min(epochs, r.size());
    Json points = Json::array();
    for (size_t e = 0; e < epochs; ++e) {
      Json point = {{"epoch", runs[0][e].epoch}};
      for (const std::string& metric : drawn) {
        double sum = 0, lo = 0, hi = 0;
        size_t have = 0;  // epoch 0 (the starting weights) has no training figures
        for (size_t i = 0; i < runs.size(); ++i) {
          const std::optional<double> v = runs[i][e].value(metric);
          if (!v) break;
          sum += *v, lo = i ? std::min(lo, *v) : *v, hi = i ? std::max(hi, *v) : *v, ++have;
        }
        if (have < runs.size()) continue;
        point[metric] = sum / double(runs.size());
        if (runs.size() > 1) point[metric + "_min"] = lo, point[metric + "_max"] = hi;
      }
      points.push_back(point);
    }
    curves.push_back({{"run", row.label}, {"runs", runs.size()}, {"epochs", points}});
  }
  return curves;
}

Json classes_json(const std::optional<report::ClassRecord>& classes) {
  if (!classes) return nullptr;
  Json accuracy = Json::object();
  for (size_t i = 0; i < classes->names.size(); ++i)
    accuracy[classes->names[i]] = classes->per_class_accuracy[i];
  return {{"names", classes->names}, {"per_class_accuracy", accuracy}};
}

// The final metric against each swept key, as metric_against draws it for --plot.
Json against_json(const Comparison& c) {
  Json charts = Json::array();
  for (const auto& key : c.keys) {
    if (key == "train.seed") continue;
    const report::Chart chart = metric_against(c.rows, key, c.keys, c.metric);
    if (chart.series.empty()) continue;
    Json series = Json::array();
    for (const auto& s : chart.series) series.push_back({{"label", s.label}, {"points", s.points}});
    charts.push_back({{"key", key}, {"log", chart.log_x}, {"series", series}});
  }
  return charts;
}

}  // namespace

std::string render_html(std::vector<RunRow> rows, const Options& options,
                        const std::string& title) {
  Comparison c = prepare(std::move(rows), options);
  Json runs = to_json(c);
  for (size_t i = 0; i < c.rows.size(); ++i) runs[i]["classes"] = classes_json(c.rows[i].classes);
  Json data = {{"title", title},
               {"generated", utc_now()},
               {"dlx_version", DLX_VERSION},
               {"metric", c.metric},
               {"keys", c.keys},
               {"metrics", c.metrics},
               {"runs", runs},
               {"curve_metrics", curve_metrics(c)},
               {"curves", curves_json(c, curve_metrics(c))},
               {"against", against_json(c)},
               {"search", search_line(c)}};
  std::string page(assets::page_html);
  fill(page, "/*DLX_UPLOT_CSS*/", assets::uplot_css);
  fill(page, "/*DLX_UPLOT_JS*/", assets::uplot_js);
  fill(page, "/*DLX_DATA*/",
       script_safe(data.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)));
  return page;
}

}  // namespace dlx::compare
