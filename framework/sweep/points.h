// What a sweep runs: the grid product of the values of its swept keys (from the experiment's
// `sweep:` section and from `--set key=a,b,c` on the command line), repeated over seeds, for one or
// several experiment files. Each point is an experiment file plus overrides, with a label that
// names its folder: `lr=0.03,seed=1`.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "framework/config/experiment.h"

namespace dlx::sweep {

struct Point {
  std::filesystem::path file;               // the experiment file
  std::vector<config::Override> overrides;  // fixed --set values, then this point's values
  std::vector<std::pair<std::string, std::string>> values;  // swept key -> value text, in order
  std::string label;                                        // "lr=0.03,seed=1" (the folder's name)
};

/// Splits `a,b,[c,d]` at its top-level commas, as Hydra does for --set lists.
std::vector<std::string> split_values(const std::string& text);

/// Expands the experiment files and `--set` texts into points. A --set with several values is a
/// swept key; with one it applies to every point. Errors are ConfigErrors naming the file or --set.
std::vector<Point> expand(const std::vector<std::filesystem::path>& files,
                          const std::vector<std::string>& sets);

/// Loads the experiment of one point (all overrides applied) and checks it.
config::ExperimentSpec load_point(const Point& point);

}  // namespace dlx::sweep
