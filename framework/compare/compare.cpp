#include "framework/compare/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "framework/core/error.h"
#include "framework/core/files.h"
#include "framework/report/chart.h"

namespace dlx::compare {

namespace fs = std::filesystem;

const std::vector<std::string>& metric_columns() {
  static const std::vector<std::string> columns{
      "test_acc",   "best_test_acc",         "best_epoch",
      "train_loss", "mean_examples_per_sec", "wall_seconds"};
  return columns;
}

namespace {

void flatten(const Json& value, const std::string& path, Json& out) {
  if (value.is_object() && !value.empty()) {
    for (const auto& [key, child] : value.items())
      flatten(child, path.empty() ? key : path + "." + key, out);
  } else {
    out[path] = value;
  }
}

RunRow read_row(const fs::path& report_file, const std::string& label) {
  RunRow row{label, "", Json::object(), Json::object(), 1, Json::object(), Json::array(), Json()};
  std::error_code ec;
  if (!fs::is_regular_file(report_file, ec)) {
    row.status = "unreadable: no report.json";
    return row;
  }
  Json report = Json::parse(read_file(report_file), nullptr, /*allow_exceptions=*/false);
  if (!report.is_object() || !report.contains("config") || !report["config"].is_object()) {
    row.status = "unreadable: report.json is corrupt";
    return row;
  }
  row.status = report.value("status", "unknown");
  flatten(report["config"], "", row.config);
  if (report.contains("final") && report["final"].is_object()) row.final = report["final"];
  if (report.contains("epochs") && report["epochs"].is_array()) row.epochs = report["epochs"];
  if (report.contains("test_classes")) row.classes = report["test_classes"];
  return row;
}

std::string relative_label(const fs::path& folder, const fs::path& base) {
  fs::path rel = folder.lexically_relative(base);
  std::string text = rel.empty() || rel == "." ? folder.filename().string() : rel.string();
  return text.empty() ? folder.string() : text;
}

void collect_folder(const fs::path& base, const fs::path& dir, int depth,
                    std::vector<RunRow>& rows) {
  if (fs::exists(dir / "report.json") || fs::exists(dir / "config.yaml")) {
    rows.push_back(read_row(dir / "report.json", relative_label(dir, base.parent_path())));
    return;
  }
  Json index = fs::exists(dir / "sweep.json")
                   ? Json::parse(read_file(dir / "sweep.json"), nullptr, false)
                   : Json();
  if (index.is_object() && index["points"].is_array()) {  // a sweep: its points, in order
    for (const auto& p : index["points"]) {
      fs::path folder = p.value("folder", "");
      rows.push_back(read_row(folder / "report.json", relative_label(folder, base.parent_path())));
    }
    return;
  }
  if (depth == 0) return;
  std::vector<fs::path> children;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory()) children.push_back(entry.path());
  }
  std::sort(children.begin(), children.end());
  for (const auto& child : children) collect_folder(base, child, depth - 1, rows);
}

}  // namespace

std::vector<RunRow> collect(const std::vector<fs::path>& paths) {
  std::vector<RunRow> rows;
  for (const auto& path : paths) {
    if (!fs::exists(path)) throw RuntimeError(path.string() + ": no such run, sweep or report");
    if (fs::is_regular_file(path)) {
      rows.push_back(read_row(path, path.parent_path().filename().string()));
    } else {
      collect_folder(path, path.lexically_normal() / "", 3, rows);
    }
  }
  return rows;
}

std::vector<std::string> differing_keys(const std::vector<RunRow>& rows) {
  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (const auto& r : rows) {
    for (const auto& [key, value] : r.config.items()) {
      if (!seen.insert(key).second) continue;
      for (const auto& other : rows) {
        Json theirs = other.config.contains(key) ? other.config[key] : Json();
        if (!other.config.empty() && theirs != value) {
          keys.push_back(key);
          break;
        }
      }
    }
  }
  return keys;
}

namespace {
// "lr=0.1,seed=0" -> "lr=0.1,seed=*": a group's label names all its seeds.
std::string seed_wildcard(std::string label) {
  size_t at = label.find("seed=");
  if (at == std::string::npos) return label + " (seeds)";
  size_t end = label.find(',', at);
  return label.replace(at + 5, end == std::string::npos ? std::string::npos : end - at - 5, "*");
}
}  // namespace

std::vector<RunRow> group_by_seed(const std::vector<RunRow>& rows) {
  std::vector<std::string> keys = differing_keys(rows);
  if (std::find(keys.begin(), keys.end(), "train.seed") == keys.end()) return rows;
  std::map<std::string, std::vector<const RunRow*>> groups;
  std::vector<std::string> order;
  for (const auto& r : rows) {
    Json identity = r.config;
    identity.erase("train.seed");
    std::string id = r.config.empty() ? "unreadable:" + r.label : identity.dump();
    if (!groups.count(id)) order.push_back(id);
    groups[id].push_back(&r);
  }
  std::vector<RunRow> out;
  for (const auto& id : order) {
    const auto& members = groups[id];
    RunRow row = *members.front();
    row.count = static_cast<int>(members.size());
    if (row.count > 1) {
      row.config.erase("train.seed");
      row.label = seed_wildcard(members.front()->label);
      for (const auto& m : members) {
        if (m->status != row.status) row.status = "mixed";
      }
      for (const auto& metric : metric_columns()) {
        std::vector<double> values;
        for (const auto& m : members) {
          if (m->final.contains(metric) && m->final[metric].is_number())
            values.push_back(m->final[metric]);
        }
        if (values.empty()) continue;
        double mean = 0, var = 0;
        for (double v : values) mean += v / values.size();
        for (double v : values)
          var += (v - mean) * (v - mean) / std::max<size_t>(1, values.size() - 1);
        row.final[metric] = mean;
        if (metric != "best_epoch") row.spread[metric] = std::sqrt(var);
      }
    }
    out.push_back(row);
  }
  return out;
}

namespace {

bool lower_is_better(const std::string& metric) {
  return metric.find("loss") != std::string::npos || metric.find("seconds") != std::string::npos;
}

// The value a row is sorted or judged by: a final metric, else a config key.
Json value_of(const RunRow& r, const std::string& key) {
  if (r.final.contains(key)) return r.final[key];
  if (r.config.contains(key)) return r.config[key];
  return nullptr;
}

std::string cell_text(const Json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    return std::fabs(d) >= 1000 ? fmt::format("{:.1f}", d) : fmt::format("{:.4g}", d);
  }
  std::string text = v.dump();
  return text.size() > 40 ? text.substr(0, 37) + "..." : text;
}

struct Grid {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> cells;
};

// For csv, a group's std is a column of its own (<metric>_std) so that every cell is a number.
Grid to_grid(const std::vector<RunRow>& rows, const std::vector<std::string>& keys, int best,
             bool std_columns) {
  Grid g;
  g.header = {"", "run"};
  g.header.insert(g.header.end(), keys.begin(), keys.end());
  for (const auto& m : metric_columns()) {
    g.header.push_back(m);
    if (std_columns && m != "best_epoch") g.header.push_back(m + "_std");
  }
  g.header.insert(g.header.end(), {"n", "status"});
  for (size_t i = 0; i < rows.size(); ++i) {
    const RunRow& r = rows[i];
    std::vector<std::string> line{int(i) == best ? "*" : "", r.label};
    for (const auto& k : keys)
      line.push_back(cell_text(r.config.contains(k) ? r.config[k] : Json()));
    for (const auto& m : metric_columns()) {
      std::string text = cell_text(r.final.contains(m) ? r.final[m] : Json());
      std::string spread = r.spread.contains(m) ? cell_text(r.spread[m]) : "";
      if (std_columns && m != "best_epoch") {
        line.push_back(text);
        line.push_back(spread);
      } else {
        line.push_back(spread.empty() ? text : text + " ± " + spread);
      }
    }
    line.push_back(std::to_string(r.count));
    line.push_back(r.status);
    g.cells.push_back(line);
  }
  return g;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string render_grid(const Grid& g, const std::string& format) {
  std::string out;
  if (format == "csv") {
    for (size_t c = 1; c < g.header.size(); ++c) out += (c > 1 ? "," : "") + csv_field(g.header[c]);
    out += ",best\n";
    for (const auto& line : g.cells) {
      for (size_t c = 1; c < line.size(); ++c) out += (c > 1 ? "," : "") + csv_field(line[c]);
      out += line[0].empty() ? ",\n" : ",true\n";
    }
    return out;
  }
  const bool md = format == "markdown";
  std::vector<size_t> width(g.header.size());
  for (size_t c = 0; c < g.header.size(); ++c) {
    width[c] = std::max<size_t>(md ? 3 : 0, g.header[c].size());
    for (const auto& line : g.cells) width[c] = std::max(width[c], line[c].size());
  }
  auto emit = [&](const std::vector<std::string>& line) {
    for (size_t c = 0; c < line.size(); ++c) {
      out += md ? "| " : (c ? "  " : "");
      out += line[c] + std::string(width[c] - line[c].size(), ' ');
      if (md) out += " ";
    }
    out += md ? "|\n" : "\n";
  };
  emit(g.header);
  if (md) {
    std::vector<std::string> rule;
    for (size_t w : width) rule.push_back(std::string(w, '-'));
    emit(rule);
  }
  for (const auto& line : g.cells) emit(line);
  // Trailing spaces help no reader.
  std::string trimmed;
  for (size_t start = 0, end; start < out.size(); start = end + 1) {
    end = out.find('\n', start);
    std::string line = out.substr(start, end - start);
    trimmed += line.substr(0, line.find_last_not_of(' ') + 1) + "\n";
  }
  return trimmed;
}

}  // namespace

Comparison prepare(std::vector<RunRow> rows, const Options& options) {
  if (options.group_seeds) rows = group_by_seed(rows);
  std::vector<std::string> keys = differing_keys(rows);
  if (!options.sort.empty()) {
    const bool ascending =
        lower_is_better(options.sort) ||
        !value_of(rows.empty() ? RunRow{} : rows[0], options.sort).is_number() ||
        !std::count(metric_columns().begin(), metric_columns().end(), options.sort);
    std::stable_sort(rows.begin(), rows.end(), [&](const RunRow& a, const RunRow& b) {
      Json va = value_of(a, options.sort), vb = value_of(b, options.sort);
      if (va.is_null() != vb.is_null()) return vb.is_null();  // missing values last
      return ascending ? va < vb : vb < va;
    });
  }
  if (options.top > 0 && int(rows.size()) > options.top) rows.resize(options.top);
  int best = -1;
  for (size_t i = 0; i < rows.size(); ++i) {
    Json v = value_of(rows[i], options.metric);
    if (!v.is_number()) continue;
    Json b = best < 0 ? Json() : value_of(rows[best], options.metric);
    if (best < 0 || (lower_is_better(options.metric) ? v < b : v > b)) best = int(i);
  }
  return Comparison{std::move(rows), std::move(keys), best};
}

Json to_json(const Comparison& c) {
  Json out = Json::array();
  for (size_t i = 0; i < c.rows.size(); ++i) {
    const RunRow& row = c.rows[i];
    Json config = Json::object();
    for (const auto& k : c.keys) config[k] = row.config.contains(k) ? row.config[k] : Json();
    out.push_back({{"run", row.label},
                   {"status", row.status},
                   {"best", int(i) == c.best},
                   {"count", row.count},
                   {"config", config},
                   {"final", row.final},
                   {"std", row.spread}});
  }
  return out;
}

std::string render(std::vector<RunRow> rows, const Options& options) {
  static const std::vector<std::string> formats{"table", "json", "csv", "markdown"};
  if (std::find(formats.begin(), formats.end(), options.format) == formats.end()) {
    throw ConfigError({"--format"}, "", "one of table, json, csv, markdown",
                      "'" + options.format + "'");
  }
  Comparison c = prepare(std::move(rows), options);
  if (options.format == "json") return to_json(c).dump(2) + "\n";
  return render_grid(to_grid(c.rows, c.keys, c.best, options.format == "csv"), options.format);
}

namespace {

report::Chart per_epoch(const std::vector<RunRow>& rows, const std::string& metric) {
  report::Chart chart{metric + " per epoch", "epoch", false, {}};
  for (const auto& r : rows) {
    report::ChartSeries s{r.label, {}};
    for (const auto& e : r.epochs) {
      if (e.contains(metric) && e[metric].is_number())
        s.points.push_back({e.value("epoch", 0.0), e[metric]});
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
