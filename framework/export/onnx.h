// `dlx export`: a run's network, with its weights, as an ONNX model that ONNX Runtime, OpenCV's
// DNN module or TensorRT can run. Written from the network as built (layer by layer, through the
// exporters in framework/export/layers.cpp), with no tracing; in evaluation mode: dropout
// removed, batch norm with its running statistics. Every model is checked by ONNX's own checker
// before it is written.
//
// The model's input, "images", is what dlx feeds after decoding: float pixels in [0, 1],
// N x C x H x W at the network's input size. The run's normalisation is the graph's first two
// nodes, so a user feeds plain pixels. Its outputs are "logits" and, when asked, "probabilities".
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "framework/data/dataset.h"
#include "framework/nn/builder.h"

namespace dlx::onnx_export {

/// The operator sets the export writes (ONNX 1.12, Debian 12's, knows up to 17).
constexpr int64_t kMinOpset = 11, kMaxOpset = 17, kDefaultOpset = 13;

struct ModelOptions {
  int64_t opset = kDefaultOpset;
  std::optional<int64_t> batch;   // a fixed batch size; none = any ("N")
  bool probabilities = false;     // a second output: softmax of the logits
  data::Normalization normalize;  // applied to the input first; empty = none
  std::vector<std::pair<std::string, std::string>> metadata;  // the model's metadata_props
};

/// The network as a serialised ONNX model, accepted by ONNX's checker. A layer ONNX cannot express
/// is a RuntimeError naming it ("cannot export layer b2.lrn0 (local_response_norm): ...").
std::string onnx_model(const nn::Network& network, const ModelOptions& options);

/// Whether the layer type `type` has an ONNX form (every built-in type has).
bool has_exporter(const std::string& type);

/// Runs ONNX's checker on a serialised model; its complaint is a RuntimeError.
void check_onnx(const std::string& model);

/// Which of a run's checkpoints to export.
// kept: best when there is one, else last; ema: train.ema's average (checkpoint_ema.pt)
enum class Weights { kKept, kBest, kLast, kEma };

struct RunExportOptions {
  Weights weights = Weights::kKept;
  int64_t opset = kDefaultOpset;
  std::optional<int64_t> batch;
  bool probabilities = false;
  bool force = false;  // export a failed or diverged run
};

struct ExportSummary {
  std::filesystem::path checkpoint;  // the weights written
  std::string status;                // the run's, as its report says
  int64_t bytes = 0;
  int64_t nodes = 0;
};

/// Exports the run in `folder` to `file` (written atomically). Refuses, with one line each, a
/// folder without the checkpoint asked for, a failed or diverged run (unless `force`), an opset
/// outside [kMinOpset, kMaxOpset], a batch below 1, and a file that cannot be written.
ExportSummary export_run(const std::filesystem::path& folder, const std::filesystem::path& file,
                         const RunExportOptions& options);

}  // namespace dlx::onnx_export
