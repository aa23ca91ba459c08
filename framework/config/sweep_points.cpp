#include "framework/config/sweep_points.h"

#include <map>
#include <set>

#include "framework/config/reader.h"
#include "framework/config/sweep_search.h"
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
    } else if (c == '[' || c == '{' || c == '(') {
      ++depth;
    } else if (c == ']' || c == '}' || c == ')') {
      --depth;
    } else if (c == ',' && depth == 0) {
      out.emplace_back();
      continue;
    }
    out.back() += c;
  }
  return out;
}

std::string yaml_text(const YAML::Node& node) {
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

namespace {

struct Axis {
  std::string key;  // dotted, as the user wrote it
  std::vector<std::string> values;
  std::string origin;
};

// One value a `sweep:` section names for a key (a listed value, or a distribution's bound or
// choice), and where the file names it.
struct SweptValue {
  std::string key, value;
  Location where;
};

// A `sweep:` section: keys with lists (a grid) or distributions (drawn `samples` times), and
// `repeat: N`, `samples: N`, `seed: S`, and `halving: {...}`.
struct Search {
  std::vector<Axis> grid;
  std::vector<Distribution> draws;
  std::vector<SweptValue> named;  // every value the section names, to be checked
  int64_t repeat = 1, samples = 0, seed = 0;
  std::optional<HalvingSpec> halving;
};

// The values a distribution names: its choices, or its bounds written as a draw writes them.
std::vector<std::string> named_values(const Distribution& d) {
  if (d.kind == DrawKind::kChoice) return d.choices;
  if (d.kind == DrawKind::kInt)
    return {std::to_string(int64_t(d.lo)), std::to_string(int64_t(d.hi))};
  return {config::number_text(d.lo), config::number_text(d.hi)};
}

int64_t count_at(const config::Tree& tree, const std::string& at, const YAML::Node& node,
                 int64_t least) {
  int64_t n = 0;
  if (!config::Codec<int64_t>::decode(node, n) || n < least) {
    throw ConfigError(tree.origins->locate(at, node), at, "an integer >= " + std::to_string(least),
                      config::describe(node));
  }
  return n;
}

// Each key's first value of each kind (an integer, a real, true or false, text, a list, a
// mapping), keys in the file's order: values of one kind pass or fail a key's type alike.
std::vector<std::vector<const SweptValue*>> representatives(const std::vector<SweptValue>& named) {
  std::vector<std::vector<const SweptValue*>> by_key;
  std::map<std::string, size_t> index;
  std::set<std::pair<std::string, config::Json::value_t>> seen;
  for (const auto& v : named) {
    if (!seen.insert({v.key, config::to_json(YAML::Load(v.value)).type()}).second) continue;
    auto [at, added] = index.emplace(v.key, by_key.size());
    if (added) by_key.emplace_back();
    by_key[at->second].push_back(&v);
  }
  return by_key;
}

// Loads the experiment with the `checked` values set, as a point would; a mistake in one of them
// is reported at its place in the file.
void check_together(const fs::path& file, const std::vector<config::Override>& fixed,
                    const std::vector<const SweptValue*>& checked) {
  std::vector<config::Override> overrides = fixed;
  try {
    for (const SweptValue* v : checked)
      overrides.push_back(config::parse_override(v->key + "=" + v->value, "sweep"));
    config::load_experiment(file, overrides);
  } catch (const ConfigError& e) {
    for (const SweptValue* v : checked) {
      if (e.where().file != "sweep " + v->key + "=" + v->value) continue;
      const std::string prefix = e.where().str() + ": error: ";
      throw ConfigError::plain(v->where, "", std::string(e.what()).substr(prefix.size()));
    }
    throw;  // the experiment's own mistake
  }
}

// Each value a `sweep:` section names must be one its experiment takes, as a --set's must: with
// it, the experiment loads without an unknown key or a wrong type. Checked before the points are
// counted, so that a misspelt key is not first met by the search's first run. Every key's
// representatives are checked in a few loads, each setting one per key: a load per value of a
// 3,000-value list would read the file 3,000 times.
void check_named_values(const fs::path& file, const std::vector<config::Override>& fixed,
                        const std::vector<SweptValue>& named) {
  const auto by_key = representatives(named);
  for (size_t round = 0;; ++round) {
    std::vector<const SweptValue*> checked;
    for (const auto& values : by_key)
      if (round < values.size()) checked.push_back(values[round]);
    if (checked.empty()) return;
    check_together(file, fixed, checked);
  }
}

Search file_search(const fs::path& file, const std::vector<config::Override>& fixed) {
  config::Tree tree = config::load_experiment_tree(file);
  YAML::Node sweep = tree.root["sweep"];
  Search search;
  if (!sweep || sweep.IsNull()) return search;
  if (!sweep.IsMap()) {
    throw ConfigError(tree.locate("sweep"), "sweep",
                      "a mapping of dotted keys to lists of values or distributions",
                      config::describe(sweep));
  }
  for (const auto& entry : sweep) {
    const std::string key = entry.first.Scalar();
    const std::string at = "sweep." + key;
    const Location where = tree.origins->locate(at, entry.second);
    if (key == "repeat" || key == "samples" || key == "seed") {
      int64_t& field = key == "repeat"    ? search.repeat
                       : key == "samples" ? search.samples
                                          : search.seed;
      field = count_at(tree, at, entry.second, key == "seed" ? 0 : 1);
      continue;
    }
    if (key == "halving") {
      config::Reader(entry.second, at, tree.origins).read_spec(search.halving.emplace());
      search.halving->metric_at = tree.locate(at + ".metric");
      continue;
    }
    if (is_distribution(entry.second)) {
      search.draws.push_back(read_distribution(key, entry.second, where));
      for (const auto& v : named_values(search.draws.back()))
        search.named.push_back({key, v, where});
      continue;
    }
    if (!entry.second.IsSequence() || entry.second.size() == 0) {
      throw ConfigError(where, at, "a non-empty list of values, or a distribution",
                        config::describe(entry.second));
    }
    Axis axis{key, {}, "sweep"};
    for (const auto& value : entry.second) {
      axis.values.push_back(yaml_text(value));
      search.named.push_back({key, axis.values.back(), tree.origins->locate(at, value)});
    }
    search.grid.push_back(axis);
  }
  check_named_values(file, fixed, search.named);
  return search;
}

// Distributions need a number of draws, and draws need a distribution; and the points must be
// countable.
void check_samples(const fs::path& file, const Search& search) {
  double points = std::max<int64_t>(search.samples, 1) * double(search.repeat);
  for (const auto& a : search.grid) points *= double(a.values.size());
  if (points > double(kMostPoints)) {
    throw ConfigError::plain({file.string()}, "sweep",
                             "the sweep has " + std::to_string(int64_t(std::min(points, 1e18))) +
                                 " points; at most " + std::to_string(kMostPoints));
  }
  if (!search.draws.empty() && search.samples < 1) {
    throw ConfigError::plain({file.string()}, "sweep.samples",
                             "'" + search.draws[0].key +
                                 "' is drawn from a distribution: set sweep.samples (or --samples) "
                                 "to the number of points to draw");
  }
  if (search.draws.empty() && search.samples > 0) {
    throw ConfigError::plain({file.string()}, "sweep.samples",
                             "samples: " + std::to_string(search.samples) +
                                 " draws nothing: no swept key has a distribution");
  }
}

// The last part of each key names it in labels, unless two keys share it.
std::map<std::string, std::string> short_names(const std::vector<std::string>& keys) {
  std::map<std::string, int> count;
  auto last = [](const std::string& key) { return key.substr(key.rfind('.') + 1); };
  for (const auto& k : keys) ++count[last(k)];
  std::map<std::string, std::string> names;
  for (const auto& k : keys) names[k] = count[last(k)] > 1 ? k : last(k);
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

// One point per combination of the grid's values, times each drawn row (the same rows for every
// combination, so that the grid's points are compared on equal draws).
void add_points(const fs::path& file, const std::vector<config::Override>& fixed,
                const std::vector<Axis>& axes, const std::vector<Distribution>& draws,
                const std::vector<std::vector<std::string>>& rows, const std::string& prefix,
                std::vector<Point>& out) {
  std::vector<std::string> keys;
  for (const auto& a : axes) keys.push_back(a.key);
  for (const auto& d : draws) keys.push_back(d.key);
  const auto names = short_names(keys);
  auto set = [&](Point& p, const std::string& key, const std::string& value,
                 const std::string& origin) {
    p.overrides.push_back(config::parse_override(key + "=" + value, origin));
    p.values.push_back({key, value});
    p.label += (p.label.empty() ? "" : ",") + names.at(key) + "=" + value;
  };
  const std::vector<std::vector<std::string>> drawn =
      rows.empty() ? std::vector<std::vector<std::string>>{{}} : rows;
  std::vector<size_t> at(axes.size(), 0);
  while (true) {
    for (const auto& row : drawn) {
      Point p{file, fixed, {}, prefix};
      for (size_t i = 0; i < axes.size(); ++i)
        set(p, axes[i].key, axes[i].values[at[i]], axes[i].origin);
      for (size_t i = 0; i < row.size(); ++i) set(p, draws[i].key, row[i], draws[i].origin);
      p.label = folder_safe(p.label.empty() ? "base" : p.label);
      out.push_back(p);
    }
    size_t i = axes.size();
    while (i > 0 && ++at[i - 1] == axes[i - 1].values.size()) at[--i] = 0;
    if (i == 0) break;
  }
}

}  // namespace

Sweep expand(const std::vector<fs::path>& files, const std::vector<std::string>& sets,
             int64_t samples) {
  std::vector<config::Override> fixed;
  std::vector<Axis> cli_axes;
  std::vector<Distribution> cli_draws;
  for (const auto& text : sets) {
    config::Override o = config::parse_override(text);
    const std::string key = text.substr(0, text.find('='));
    CliValues parsed = parse_cli_values(key, o.value, text);
    if (parsed.distribution) {
      cli_draws.push_back(*parsed.distribution);
    } else if (parsed.values.size() == 1) {
      o.value = parsed.values[0];  // choice(0.3) and range(1) give one value, too
      fixed.push_back(o);
    } else {
      cli_axes.push_back(Axis{key, parsed.values, "--set"});
    }
  }
  Sweep sweep;
  for (const auto& file : files) {
    Search search = file_search(file, fixed);
    if (file == files.front()) {
      sweep.halving = search.halving;
    } else if (search.halving != sweep.halving) {
      throw ConfigError::plain({file.string()}, "sweep.halving",
                               "the files of one sweep must agree on sweep.halving; " +
                                   files.front().string() + "'s differs");
    }
    search.grid.insert(search.grid.end(), cli_axes.begin(), cli_axes.end());
    search.draws.insert(search.draws.end(), cli_draws.begin(), cli_draws.end());
    if (samples > 0) search.samples = samples;
    check_samples(file, search);
    if (search.repeat > 1) {
      Axis seeds{"train.seed", {}, "sweep"};
      int64_t base = config::load_experiment(file, fixed).train.seed;
      for (int64_t r = 0; r < search.repeat; ++r) seeds.values.push_back(std::to_string(base + r));
      search.grid.push_back(seeds);
    }
    // With several files, each label starts with its experiment's name.
    std::string prefix = files.size() > 1 ? config::load_experiment(file, fixed).name : "";
    add_points(file, fixed, search.grid, search.draws,
               draw(search.draws, search.samples, uint64_t(search.seed)), prefix, sweep.points);
  }
  return sweep;
}

void check_sweep(const fs::path& file, const std::vector<config::Override>& fixed) {
  check_samples(file, file_search(file, fixed));
}

config::ExperimentSpec load_point(const Point& point) {
  return config::load_experiment(point.file, point.overrides);
}

}  // namespace dlx::sweep
