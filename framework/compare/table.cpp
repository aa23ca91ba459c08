// `dlx compare`'s table in its four formats: aligned text, Markdown, CSV and JSON.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "framework/compare/compare.h"
#include "framework/core/error.h"

namespace dlx::compare {

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

namespace {

struct Grid {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> cells;
};

// For csv, a group's std is a column of its own (<metric>_std) so that every cell is a number.
Grid to_grid(const Comparison& c, bool std_columns) {
  const std::vector<RunRow>& rows = c.rows;
  const std::vector<std::string>& keys = c.keys;
  const int best = c.best;
  Grid g;
  g.header = {"", "run"};
  g.header.insert(g.header.end(), keys.begin(), keys.end());
  for (const auto& m : c.metrics) {
    g.header.push_back(m);
    if (std_columns && m != "best_epoch") g.header.push_back(m + "_std");
  }
  g.header.insert(g.header.end(), {"n", "status"});
  for (size_t i = 0; i < rows.size(); ++i) {
    const RunRow& r = rows[i];
    std::vector<std::string> line{int(i) == best ? "*" : "", r.label};
    for (const auto& k : keys)
      line.push_back(cell_text(r.config.contains(k) ? r.config[k] : Json()));
    for (const auto& m : c.metrics) {
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

std::string render(std::vector<RunRow> rows, const Options& options) {
  static const std::vector<std::string> formats{"table", "json", "csv", "markdown"};
  if (std::find(formats.begin(), formats.end(), options.format) == formats.end()) {
    throw ConfigError({"--format"}, "", "one of table, json, csv, markdown",
                      "'" + options.format + "'");
  }
  Comparison c = prepare(std::move(rows), options);
  if (options.format == "json") return to_json(c).dump(2) + "\n";
  std::string out = render_grid(to_grid(c, options.format == "csv"), options.format);
  if (options.format != "csv") out += (options.format == "markdown" ? "\n" : "") + search_line(c);
  return out;
}

}  // namespace dlx::compare
