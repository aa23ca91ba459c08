#include "framework/config/sweep_search.h"

#include <cmath>
#include <cstdio>
#include <random>

#include "framework/config/codec.h"
#include "framework/config/sweep_points.h"
#include "framework/config/tree.h"

namespace dlx::sweep {

namespace {

const char* const kDistributionForms =
    "{uniform: [lo, hi]}, {loguniform: [lo, hi]}, {int: [lo, hi]} or {choice: [a, b, ...]}";
const char* const kCliForms =
    "a value, a,b,..., range(start, stop[, step]), choice(a, b, ...), interval(lo, hi) or "
    "tag(log, interval(lo, hi))";

std::string real_text(double v, int digits = 4) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*g", digits, v);
  return text;
}

// [0, 1) from 53 random bits: the same on every platform, unlike std::uniform_real_distribution.
double unit(std::mt19937_64& rng) {
  return double(rng() >> 11) * 0x1.0p-53;
}

std::string draw_one(const Distribution& d, std::mt19937_64& rng) {
  const double u = unit(rng);
  switch (d.kind) {
    case DrawKind::kUniform:
      return real_text(d.lo + u * (d.hi - d.lo));
    case DrawKind::kLogUniform:
      return real_text(std::exp(std::log(d.lo) + u * (std::log(d.hi) - std::log(d.lo))));
    case DrawKind::kInt:
      return std::to_string(int64_t(d.lo) + int64_t(u * (d.hi - d.lo + 1)));
    case DrawKind::kChoice:
      return d.choices[size_t(u * double(d.choices.size()))];
  }
  return "";
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

// `name(args)`: the name, and the text between the parentheses; nullopt when `text` is not one.
std::optional<std::pair<std::string, std::string>> function_call(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_'))
    ++i;
  if (i == 0 || i >= text.size() || text[i] != '(' || text.back() != ')') return std::nullopt;
  return std::pair{text.substr(0, i), text.substr(i + 1, text.size() - i - 2)};
}

std::vector<std::string> arguments(const std::string& inner) {
  std::vector<std::string> out;
  for (const auto& a : split_values(inner)) out.push_back(trim(a));
  if (out.size() == 1 && out[0].empty()) out.clear();
  return out;
}

class CliParser {
 public:
  CliParser(std::string key, std::string set_text)
      : key_(std::move(key)), where_{"--set " + set_text} {}

  CliValues parse(const std::string& value) {
    auto call = function_call(trim(value));
    if (!call) return {split_values(value), std::nullopt};
    const auto& [name, inner] = *call;
    const auto args = arguments(inner);
    if (name == "range") return {range(args, value), std::nullopt};
    if (name == "choice") {
      if (args.empty()) fail("choice(a, b, ...) with at least one value", value);
      return {args, std::nullopt};
    }
    if (name == "interval") return {{}, interval(args, value, DrawKind::kUniform)};
    if (name == "tag") return {{}, tagged(args, value)};
    fail(kCliForms, value);
  }

 private:
  [[noreturn]] void fail(const std::string& expected, const std::string& found) const {
    throw ConfigError(where_, key_, expected, "'" + found + "'");
  }

  double number(const std::string& text, const std::string& whole) const {
    const std::string expected = "numbers in " + whole.substr(0, whole.find('(')) + "(...)";
    YAML::Node node;
    try {
      node = config::parse_yaml_text(text, where_.file);
    } catch (const ConfigError&) {
      fail(expected, whole);
    }
    double v = 0;
    if (!config::Codec<double>::decode(node, v) || !std::isfinite(v)) fail(expected, whole);
    return v;
  }

  // Python's and Hydra's range: start, start + step, ... up to stop, stop excluded.
  std::vector<std::string> range(const std::vector<std::string>& args, const std::string& whole) {
    if (args.empty() || args.size() > 3)
      fail("range(stop), range(start, stop) or range(start, stop, step)", whole);
    std::vector<double> n;
    bool integers = true;
    for (const auto& a : args) {
      n.push_back(number(a, whole));
      integers = integers && n.back() == std::floor(n.back());
    }
    const double start = n.size() == 1 ? 0 : n[0], stop = n.size() == 1 ? n[0] : n[1];
    const double step = n.size() == 3 ? n[2] : 1;
    if (step == 0) fail("a range whose step is not 0", whole);
    std::vector<std::string> values;
    for (int64_t i = 0;; ++i) {
      const double v = start + double(i) * step;
      if (step > 0 ? v >= stop - 1e-9 * std::abs(step) : v <= stop + 1e-9 * std::abs(step)) break;
      values.push_back(integers ? std::to_string(int64_t(v)) : real_text(v, 10));
      if (values.size() > 10000) fail("a range of at most 10000 values", whole);
    }
    if (values.empty()) fail("a range with at least one value", whole);
    return values;
  }

  Distribution interval(const std::vector<std::string>& args, const std::string& whole,
                        DrawKind kind) {
    if (args.size() != 2) fail("interval(lo, hi)", whole);
    Distribution d{key_, kind, number(args[0], whole), number(args[1], whole), {}, "--set"};
    if (!(d.lo < d.hi)) fail("interval(lo, hi) with lo < hi", whole);
    if (kind == DrawKind::kLogUniform && d.lo <= 0) fail("a log interval with lo > 0", whole);
    return d;
  }

  Distribution tagged(const std::vector<std::string>& args, const std::string& whole) {
    auto inner = args.empty() ? std::nullopt : function_call(args.back());
    if (!inner || inner->first != "interval") fail("tag(log, interval(lo, hi))", whole);
    bool log = false;
    for (size_t i = 0; i + 1 < args.size(); ++i) log = log || args[i] == "log";
    return interval(arguments(inner->second), whole,
                    log ? DrawKind::kLogUniform : DrawKind::kUniform);
  }

  std::string key_;
  Location where_;
};

}  // namespace

std::vector<std::vector<std::string>> draw(const std::vector<Distribution>& distributions,
                                           int64_t samples, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<std::string>> rows;
  for (int64_t s = 0; s < samples; ++s) {
    std::vector<std::string> row;
    for (const auto& d : distributions) row.push_back(draw_one(d, rng));
    rows.push_back(row);
  }
  return rows;
}

bool is_distribution(const YAML::Node& node) {
  return node.IsMap();
}

Distribution read_distribution(const std::string& key, const YAML::Node& node,
                               const Location& where) {
  const std::string at = "sweep." + key;
  if (!node.IsMap() || node.size() != 1)
    throw ConfigError(where, at, std::string("a list of values, or ") + kDistributionForms,
                      config::describe(node));
  const std::string kind = node.begin()->first.Scalar();
  const YAML::Node args = node.begin()->second;
  Distribution d{key, DrawKind::kChoice, 0, 0, {}, "sweep"};
  if (kind == "choice") {
    if (!args.IsSequence() || args.size() == 0)
      throw ConfigError(where, at + ".choice", "a non-empty list of values",
                        config::describe(args));
    for (const auto& v : args) d.choices.push_back(yaml_text(v));
    return d;
  }
  const std::map<std::string, DrawKind> kinds{{"uniform", DrawKind::kUniform},
                                              {"loguniform", DrawKind::kLogUniform},
                                              {"int", DrawKind::kInt}};
  auto found = kinds.find(kind);
  if (found == kinds.end())
    throw ConfigError(where, at, kDistributionForms, "'" + kind + "'",
                      did_you_mean(kind, {"uniform", "loguniform", "int", "choice"}));
  d.kind = found->second;
  const bool bounds =
      args.IsSequence() && args.size() == 2 && config::Codec<double>::decode(args[0], d.lo) &&
      config::Codec<double>::decode(args[1], d.hi) && d.lo < d.hi &&
      (d.kind != DrawKind::kLogUniform || d.lo > 0) &&
      (d.kind != DrawKind::kInt || (d.lo == std::floor(d.lo) && d.hi == std::floor(d.hi)));
  if (!bounds)
    throw ConfigError(
        where, at + "." + kind,
        std::string("[lo, hi] with lo < hi") + (d.kind == DrawKind::kLogUniform ? " and lo > 0"
                                                : d.kind == DrawKind::kInt      ? ", both integers"
                                                                                : ""),
        "'" + yaml_text(args) + "'");
  return d;
}

CliValues parse_cli_values(const std::string& key, const std::string& value,
                           const std::string& set_text) {
  return CliParser(key, set_text).parse(value);
}

}  // namespace dlx::sweep
