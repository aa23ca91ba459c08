// What a sweep does with each point, decided from its folder before anything runs: run it, skip
// it (done earlier), or resume it; a folder in the way is moved aside, never deleted.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "framework/config/sweep_points.h"

namespace dlx::sweep {

enum class Action { kSkip, kRun, kResume };

struct Plan {
  const Point* point = nullptr;
  std::filesystem::path folder;
  std::string identity;              // config_identity() of the point's resolved config
  int64_t epochs = 0;                // train.epochs
  bool has_validation = false;       // whether its data has a validation split
  std::vector<std::string> metrics;  // train.metrics: recorded besides acc and loss
  Action action = Action::kRun;
  std::string note;  // why, for the terminal
};

/// Loads and checks the point (shapes too), then compares it with what `folder` holds. The
/// folder's run is the same point when its config has the same identity, whichever dlx wrote it.
Plan decide(const Point& point, const std::filesystem::path& folder);

}  // namespace dlx::sweep
