// What a sweep runs: the grid product of the values of its swept keys (from the experiment's
// `sweep:` section and from `--set key=a,b,c` on the command line), times the rows drawn for keys
// given distributions (search.h), repeated over seeds, for one or several experiment files. Each
// point is an experiment file plus overrides, with a label that names its folder: `lr=0.03,seed=1`.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "framework/config/experiment.h"
#include "framework/sweep/halving.h"

namespace dlx::sweep {

struct Point {
  std::filesystem::path file;               // the experiment file
  std::vector<config::Override> overrides;  // fixed --set values, then this point's values
  std::vector<std::pair<std::string, std::string>> values;  // swept key -> value text, in order
  std::string label;                                        // "lr=0.03,seed=1" (the folder's name)
};

/// A YAML node as one line of flow YAML: how a swept value is written in labels and overrides.
std::string yaml_text(const YAML::Node& node);

/// Splits `a,b,[c,d]` at its top-level commas (not inside [], {}, () or quotes), as Hydra does.
std::vector<std::string> split_values(const std::string& text);

/// A sweep larger than this is a mistake in its file (or a fuzzer's), not a plan.
constexpr int64_t kMostPoints = 100000;

/// A sweep's points, and how they are searched.
struct Sweep {
  std::vector<Point> points;
  std::optional<HalvingSpec> halving;  // sweep.halving; none: every point trains to the end
};

/// Expands the experiment files and `--set` texts into points: the grid of listed values, times
/// `samples` draws of the keys given distributions (search.h; `samples` > 0 overrides the file's
/// sweep.samples). A --set with several values is a swept key; with one it applies to every point.
/// Errors are ConfigErrors naming the file or --set.
Sweep expand(const std::vector<std::filesystem::path>& files, const std::vector<std::string>& sets,
             int64_t samples = 0);

/// Checks a file's `sweep:` section as expand() does, without making its points: every key it
/// names is one of the experiment's and every value has the key's type (with the `fixed`
/// overrides applied), and the number of points is within kMostPoints.
void check_sweep(const std::filesystem::path& file, const std::vector<config::Override>& fixed);

/// Loads the experiment of one point (all overrides applied) and checks it.
config::ExperimentSpec load_point(const Point& point);

}  // namespace dlx::sweep
