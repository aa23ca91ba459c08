#include "framework/compare/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "framework/config/experiment.h"
#include "framework/core/error.h"
#include "framework/core/files.h"
#include "framework/metrics/metric.h"
#include "framework/report/sweep_index.h"

namespace dlx::compare {

namespace fs = std::filesystem;

namespace {

void flatten(const Json& value, const std::string& path, Json& out) {
  if (value.is_object() && !value.empty()) {
    for (const auto& [key, child] : value.items())
      flatten(child, path.empty() ? key : path + "." + key, out);
  } else {
    out[path] = value;
  }
}

RunRow read_row(const fs::path& folder, const std::string& label) {
  RunRow row;
  row.label = label;
  try {
    report::RunReport report = report::read_run_report(folder);
    row.status = report::status_name(report.status);
    // A report written before a key existed shows that key at its default.
    flatten(config::with_defaults(report.config), "", row.config);
    if (report.final) row.final = report.final->to_json();
    row.epochs = report.epochs;
    row.classes = report.test_classes;
  } catch (const RuntimeError& e) {
    std::error_code ec;
    row.status = fs::is_regular_file(folder / "report.json", ec)
                     ? "unreadable: report.json is corrupt"
                     : "unreadable: no report.json";
  }
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
    rows.push_back(read_row(dir, relative_label(dir, base.parent_path())));
    return;
  }
  if (const auto index = report::read_sweep_index(dir)) {  // a sweep: its points, in order
    // Points lie in the sweep's folder under their labels, wherever the folder has moved since.
    for (const auto& p : index->points)
      rows.push_back(read_row(dir / p.label, relative_label(dir / p.label, base.parent_path())));
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
      rows.push_back(read_row(path.parent_path(), path.parent_path().filename().string()));
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
    for (const auto& m : members) row.members.push_back(m->epochs);
    if (row.count > 1) {
      row.config.erase("train.seed");
      row.label = seed_wildcard(members.front()->label);
      for (const auto& m : members) {
        if (m->status != row.status) row.status = "mixed";
      }
      // Every figure the group's first run has: the summary columns and the last epoch's
      // (test_top5_acc, ema_val_acc, ...).
      std::vector<std::string> figures;
      for (const auto& [name, value] : row.final.items())
        if (value.is_number()) figures.push_back(name);
      for (const auto& metric : figures) {
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
        if (metric != "best_epoch" && metric != "selected_epoch" && metric != "epoch")
          row.spread[metric] = std::sqrt(var);
      }
    }
    out.push_back(row);
  }
  return out;
}

namespace {

// A recorded figure (val_acc, or a summary of one: selected_test_acc, best_test_acc) goes by its
// metric's direction (framework/metrics); of the other columns, times and memory are better low.
bool lower_is_better(const std::string& column) {
  for (const char* summary : {"", "selected_", "best_"}) {
    const std::string prefix = summary;
    if (column.rfind(prefix, 0) != 0) continue;
    if (const auto m = metrics::parse_metric(column.substr(prefix.size())))
      return !m->higher_is_better();
  }
  return column.find("seconds") != std::string::npos || column.find("_mib") != std::string::npos;
}

// The value a row is sorted or judged by: a final metric, else a config key.
Json value_of(const RunRow& r, const std::string& key) {
  if (r.final.contains(key)) return r.final[key];
  if (r.config.contains(key)) return r.config[key];
  return nullptr;
}

}  // namespace

std::string default_metric(const std::vector<RunRow>& rows) {
  for (const auto& r : rows)
    if (r.final.contains("val_acc") && r.final["val_acc"].is_number()) return "val_acc";
  return "test_acc";
}

std::string judging_metric(const std::vector<RunRow>& rows, const std::string& asked) {
  if (asked.empty()) return default_metric(rows);
  // A metric without its split ("top5_acc") is judged as the default is: on validation where
  // the runs have it, else on test.
  if (metrics::parse_metric(asked) || !metrics::find_metric(asked)) return asked;
  const std::string val = "val_" + asked;
  for (const auto& r : rows)
    if (r.final.contains(val) && r.final[val].is_number()) return val;
  return "test_" + asked;
}

std::string search_line(const Comparison& c) {
  int64_t trained = 0, full = 0;
  for (const auto& r : c.rows) {
    trained += int64_t(r.epochs.size()) * r.count;
    if (r.config.contains("train.epochs") && r.config["train.epochs"].is_number_integer())
      full += r.config["train.epochs"].get<int64_t>() * r.count;
  }
  if (c.best < 0 || trained >= full) return "";
  const RunRow& best = c.rows[size_t(c.best)];
  return fmt::format(
      "best by {}: {} ({}); {} epochs trained in all, against {} for every run to train.epochs\n",
      c.metric, best.label, cell_text(value_of(best, c.metric)), trained, full);
}

namespace {
// The summary columns the runs have, and the judging metric when it is none of them.
std::vector<std::string> shown_metrics(const std::vector<RunRow>& rows, const std::string& metric) {
  std::vector<std::string> shown;
  std::vector<std::string> columns = report::final_columns();
  if (std::find(columns.begin(), columns.end(), metric) == columns.end() &&
      metrics::parse_metric(metric))
    columns.insert(columns.begin() + 2, metric);
  for (const auto& m : columns) {
    for (const auto& r : rows) {
      if (r.final.contains(m) && !r.final[m].is_null()) {
        shown.push_back(m);
        break;
      }
    }
  }
  return shown;
}
}  // namespace

Comparison prepare(std::vector<RunRow> rows, const Options& options) {
  if (options.group_seeds) rows = group_by_seed(rows);
  std::vector<std::string> keys = differing_keys(rows);
  if (!options.sort.empty()) {
    const bool ascending =
        lower_is_better(options.sort) ||
        !value_of(rows.empty() ? RunRow{} : rows[0], options.sort).is_number() ||
        !std::count(report::final_columns().begin(), report::final_columns().end(), options.sort);
    std::stable_sort(rows.begin(), rows.end(), [&](const RunRow& a, const RunRow& b) {
      Json va = value_of(a, options.sort), vb = value_of(b, options.sort);
      if (va.is_null() != vb.is_null()) return vb.is_null();  // missing values last
      return ascending ? va < vb : vb < va;
    });
  }
  if (options.top > 0 && int(rows.size()) > options.top) rows.resize(options.top);
  const std::string metric = judging_metric(rows, options.metric);
  int best = -1;
  for (size_t i = 0; i < rows.size(); ++i) {
    Json v = value_of(rows[i], metric);
    if (!v.is_number()) continue;
    Json b = best < 0 ? Json() : value_of(rows[best], metric);
    if (best < 0 || (lower_is_better(metric) ? v < b : v > b)) best = int(i);
  }
  std::vector<std::string> metrics = shown_metrics(rows, metric);
  return Comparison{std::move(rows), std::move(keys), std::move(metrics), metric, best};
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

}  // namespace dlx::compare
