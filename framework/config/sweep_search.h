// Values a sweep draws rather than lists: distributions in a `sweep:` section
// (`{uniform: [lo, hi]}`, `{loguniform: [lo, hi]}`, `{int: [lo, hi]}`, `{choice: [a, b]}`), and
// Hydra's sweep functions in `--set` (`range(start, stop, step)`, `choice(a, b)`,
// `interval(lo, hi)`, `tag(log, interval(lo, hi))`). A draw is seeded, so that the same file and
// seed give the same points on any machine, and a restarted search finds its runs again.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "framework/core/error.h"

namespace dlx::sweep {

enum class DrawKind { kUniform, kLogUniform, kInt, kChoice };

struct Distribution {
  std::string key;  // dotted, as written
  DrawKind kind = DrawKind::kUniform;
  double lo = 0, hi = 0;             // inclusive bounds (uniform, loguniform, int)
  std::vector<std::string> choices;  // YAML texts (choice)
  std::string origin;                // "sweep" or "--set"
};

/// `samples` rows, each one value (as YAML text) per distribution, in order: the same seed gives
/// the same rows. Reals are written with 4 significant digits, so a label is the value trained.
std::vector<std::vector<std::string>> draw(const std::vector<Distribution>& distributions,
                                           int64_t samples, uint64_t seed);

/// Whether a `sweep:` entry's value is a distribution (a mapping), not a list.
bool is_distribution(const YAML::Node& node);

/// Reads a `sweep:` entry's distribution; `where` locates it for errors.
Distribution read_distribution(const std::string& key, const YAML::Node& node,
                               const Location& where);

/// A `--set KEY=VALUE`'s value in Hydra's sweep syntax: a list (`a,b`, `range(...)`,
/// `choice(...)`) or a distribution (`interval(...)`, `tag(log, interval(...))`). Anything that
/// looks like a function call is understood or refused, never split at its commas.
struct CliValues {
  std::vector<std::string> values;           // one value: a fixed override
  std::optional<Distribution> distribution;  // set instead of values
};
CliValues parse_cli_values(const std::string& key, const std::string& value,
                           const std::string& set_text);

}  // namespace dlx::sweep
