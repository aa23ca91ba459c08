#include "framework/sweep/points.h"

#include <map>

#include "framework/core/error.h"

namespace dlx::sweep {

namespace fs = std::filesystem;

std::vector<std::string> split_values(const std::string& text) {
  std::vector<std::string> out{""};
  int depth = 0;
  char quote = 0;
  for (char c : text) {
    if (quote) {
      quote = c == quote ? 0 : quote;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      --depth;
    } else if (c == ',' && depth == 0) {
      out.emplace_back();
      continue;
    }
    out.back() += c;
  }
  return out;
}

namespace {

struct Axis {
  std::string key;  // dotted, as the user wrote it
  std::vector<std::string> values;
  std::string origin;
};

std::string yaml_text(const YAML::Node& node) {
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

// The `sweep:` section of an experiment file: key -> list, plus `repeat: N`.
std::vector<Axis> file_axes(const fs::path& file, int64_t& repeat) {
  config::Tree tree = config::load_experiment_tree(file);
  YAML::Node sweep = tree.root["sweep"];
  std::vector<Axis> axes;
  if (!sweep || sweep.IsNull()) return axes;
  if (!sweep.IsMap()) {
    throw ConfigError(tree.locate("sweep"), "sweep", "a mapping of dotted keys to lists of values",
                      config::describe(sweep));
  }
  for (const auto& entry : sweep) {
    const std::string key = entry.first.Scalar();
    const std::string at = "sweep." + key;
    if (key == "repeat") {
      if (!config::Codec<int64_t>::decode(entry.second, repeat) || repeat < 1) {
        throw ConfigError(tree.origins->locate(at, entry.second), at, "an integer >= 1",
                          config::describe(entry.second));
      }
      continue;
    }
    if (!entry.second.IsSequence() || entry.second.size() == 0) {
      throw ConfigError(tree.origins->locate(at, entry.second), at, "a non-empty list of values",
                        config::describe(entry.second));
    }
    Axis axis{key, {}, "sweep"};
    for (const auto& value : entry.second) axis.values.push_back(yaml_text(value));
    axes.push_back(axis);
  }
  return axes;
}

// The last part of each key names it in labels, unless two keys share it.
std::map<std::string, std::string> short_names(const std::vector<Axis>& axes) {
  std::map<std::string, int> count;
  auto last = [](const std::string& key) { return key.substr(key.rfind('.') + 1); };
  for (const auto& a : axes) ++count[last(a.key)];
  std::map<std::string, std::string> names;
  for (const auto& a : axes) names[a.key] = count[last(a.key)] > 1 ? a.key : last(a.key);
  return names;
}

// Characters a folder name can carry safely; anything else becomes '_'.
std::string folder_safe(const std::string& text) {
  std::string out;
  for (char c : text) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) ||
              std::string("._=,+-").find(c) != std::string::npos;
    out += ok ? c : '_';
  }
  return out;
}

void add_grid(const fs::path& file, const std::vector<config::Override>& fixed,
              const std::vector<Axis>& axes, const std::string& prefix, std::vector<Point>& out) {
  const auto names = short_names(axes);
  std::vector<size_t> at(axes.size(), 0);
  while (true) {
    Point p{file, fixed, {}, prefix};
    for (size_t i = 0; i < axes.size(); ++i) {
      const Axis& a = axes[i];
      const std::string& value = a.values[at[i]];
      p.overrides.push_back(config::parse_override(a.key + "=" + value, a.origin));
      p.values.push_back({a.key, value});
      p.label += (p.label.empty() ? "" : ",") + names.at(a.key) + "=" + value;
    }
    p.label = folder_safe(p.label.empty() ? "base" : p.label);
    out.push_back(p);
    size_t i = axes.size();
    while (i > 0 && ++at[i - 1] == axes[i - 1].values.size()) at[--i] = 0;
    if (i == 0) break;
  }
}

}  // namespace

std::vector<Point> expand(const std::vector<fs::path>& files,
                          const std::vector<std::string>& sets) {
  std::vector<config::Override> fixed;
  std::vector<Axis> cli_axes;
  for (const auto& text : sets) {
    config::Override o = config::parse_override(text);
    std::vector<std::string> values = split_values(o.value);
    if (values.size() == 1) {
      fixed.push_back(o);
    } else {
      cli_axes.push_back(Axis{text.substr(0, text.find('=')), values, "--set"});
    }
  }
  std::vector<Point> points;
  for (const auto& file : files) {
    int64_t repeat = 1;
    std::vector<Axis> axes = file_axes(file, repeat);
    axes.insert(axes.end(), cli_axes.begin(), cli_axes.end());
    if (repeat > 1) {
      Axis seeds{"train.seed", {}, "sweep"};
      int64_t base = config::load_experiment(file, fixed).train.seed;
      for (int64_t r = 0; r < repeat; ++r) seeds.values.push_back(std::to_string(base + r));
      axes.push_back(seeds);
    }
    // With several files, each label starts with its experiment's name.
    std::string prefix = files.size() > 1 ? config::load_experiment(file, fixed).name : "";
    add_grid(file, fixed, axes, prefix, points);
  }
  return points;
}

config::ExperimentSpec load_point(const Point& point) {
  return config::load_experiment(point.file, point.overrides);
}

}  // namespace dlx::sweep
