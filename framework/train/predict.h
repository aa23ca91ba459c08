// Predictions of a finished (or checkpointed) run, as the second seed's table shows them: the
// run's config and checkpoint, the dataset's examples in order, true and predicted labels by name.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace dlx::train {

struct Prediction {
  int64_t index = 0;  // in the split
  std::string truth, predicted;
};

struct PredictOptions {
  std::string split = "test";  // test | train
  int64_t count = 10;          // rows wanted
  bool misses_only = false;    // only the wrong predictions
  std::string device;          // "" = the run's train.device
};

/// Loads the run in `folder` and predicts the split's examples in order until `count` rows.
std::vector<Prediction> predict_run(const std::filesystem::path& folder,
                                    const PredictOptions& options);

}  // namespace dlx::train
