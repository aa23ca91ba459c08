// Predictions of a finished (or checkpointed) run, as the second seed's table shows them: the
// run's config and checkpoint, the dataset's examples in order, true and predicted labels by name.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace dlx::train {

struct Prediction {
  int64_t index = 0;  // in the split
  std::string truth, predicted;
  std::vector<std::vector<uint8_t>> pixels;  // the stored image's first channel, row by row
};

struct PredictOptions {
  std::string split = "test";  // test | train
  int64_t count = 10;          // rows wanted
  bool misses_only = false;    // only the wrong predictions
  std::string device;          // "" = the run's train.device
};

/// One image file's most likely classes, most likely first.
struct FilePrediction {
  std::string file;
  std::vector<std::pair<std::string, double>> top;  // class name, probability
};

/// Decodes `files` as the run's data was (channels, size, normalisation; augmentation's
/// evaluation counterpart) and predicts each with the run's kept weights (checkpoint_best.pt when
/// the run selected an epoch, else checkpoint.pt). An unreadable file is a RuntimeError naming it.
std::vector<FilePrediction> predict_files(const std::filesystem::path& folder,
                                          const std::vector<std::string>& files, int64_t top,
                                          const std::string& device = "");

/// The rows' images in a grid, each titled true/predicted (red when wrong), as d2l's
/// predict_ch3 shows them: a self-contained SVG.
std::string predictions_svg(const std::vector<Prediction>& rows);

/// Loads the run in `folder` and predicts the split's examples in order until `count` rows, with
/// the run's kept weights (as predict_files).
std::vector<Prediction> predict_run(const std::filesystem::path& folder,
                                    const PredictOptions& options);

}  // namespace dlx::train
