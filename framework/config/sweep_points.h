// What a sweep runs: the grid product of the values of its swept keys (from the experiment's
// `sweep:` section and from `--set key=a,b,c` on the command line), times the rows drawn for keys
// given distributions (search.h), repeated over seeds, for one or several experiment files. Each
// point is an experiment file plus overrides, with a label that names its folder: `lr=0.03,seed=1`.
// The sweep section is configuration, so this file (and sweep_search.h) is in the config floor,
// which the fuzzer builds alone; framework/sweep plans and runs the points.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "framework/config/experiment.h"

namespace dlx::sweep {

/// sweep.halving: successive halving's settings (framework/sweep/halving.h runs it).
struct HalvingSpec {
  std::string metric = "val_acc";  // a criterion of metrics::criterion_names()
  int64_t eta = 3;
  int64_t min_epochs = 1;
  Location metric_at;  // where the metric was written: its name is checked by framework/sweep

  template <class V>
  void visit(V& v) {
    v.field("metric", metric, "what points are ranked by at each rung (val_acc, val_loss, ...)");
    v.field("eta", eta, "1/eta of the points at a rung go on to the next", config::at_least(2));
    v.field("min_epochs", min_epochs, "the epochs every point trains (the first rung)",
            config::at_least(1));
  }
  bool operator==(const HalvingSpec& o) const {
    return metric == o.metric && eta == o.eta && min_epochs == o.min_epochs;
  }
  bool operator!=(const HalvingSpec& o) const { return !(*this == o); }
};

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
