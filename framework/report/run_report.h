// report.json as a type: the one place that names its fields. `dlx run` and `dlx resume` write it,
// sweeps read a point's status and figures from it, and `dlx compare` tabulates it. Reading is
// tolerant of fields a newer dlx added (absent in older reports), strict about the ones every
// dlx.run/1 report has.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "framework/report/report.h"

namespace dlx::report {

enum class RunStatus { kRunning, kCompleted, kFailed, kDiverged, kInterrupted };

/// "completed", ... as report.json spells it.
const char* status_name(RunStatus status);
/// The status spelt `name`, or nullopt.
std::optional<RunStatus> parse_status(const std::string& name);
/// Completed and diverged runs are over: a sweep does not run them again.
bool is_final(RunStatus status);

struct LayerRecord {
  std::string name, type;
  std::vector<int64_t> output_shape;
  int64_t parameters = 0, macs = 0;
};

struct ModelRecord {
  std::string name;
  std::vector<int64_t> input;
  int64_t parameters = 0, macs_per_example = 0;
  std::vector<LayerRecord> layers;
};

struct EnvironmentRecord {
  std::string dlx_version, libtorch_version, device, device_name;
  int64_t threads = 0;
  std::string blas, host, started;
  std::string precision = "fp32";  // what the forward pass computed in (train.precision, or fp32)
  std::optional<std::string> ended;
  int64_t world_size = 1;  // data-parallel ranks; written only when > 1
  std::string backend;     // their collectives' backend ("gloo"), with world_size
};

struct DataRecord {
  std::string dataset, source;
  int64_t train_examples = 0, test_examples = 0;
  int64_t val_examples = 0;  // held out of the training set
  std::vector<std::string> class_names;
  std::vector<int64_t> image_size;  // [h, w] as stored, before any per-batch resize
  double load_seconds = 0;          // reading (and decoding) the dataset before the first epoch
  std::string cache = "memory";     // where decoded images live: memory or none
  int64_t cache_bytes = 0;
  std::vector<std::string> skipped_files;  // undecodable images left out (data.skip_bad)
  std::vector<double> mean, std;           // the normalisation used; empty = none
};

/// The last evaluation, per class: counts[true][predicted], and each class's accuracy.
struct ClassRecord {
  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> confusion_matrix;
  std::vector<double> per_class_accuracy;  // in the order of `names`: each class's recall
  std::vector<double> precision, f1;       // in the order of `names` (scikit-learn's, 0/0 = 0)
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;  // unweighted means over classes
};

/// The run's summary: the last epoch's figures and the run's totals.
struct FinalRecord {
  std::optional<EpochRecord> last;  // none when no epoch finished
  std::optional<double> best_test_acc;
  std::optional<int64_t> best_epoch;
  double wall_seconds = 0;
  double mean_examples_per_sec = 0;  // training examples over training time, as d2l counts
  double data_seconds = 0;           // training time spent waiting for batches
  double compute_seconds = 0;        // the rest of the training time
  double peak_rss_mib = 0;
  // On a GPU: the peak of LibTorch's caching allocator, in use by tensors and held from the
  // driver (what nvidia-smi counts, less the CUDA context).
  std::optional<double> peak_gpu_allocated_mib, peak_gpu_reserved_mib;
  // The epoch train.select chose on validation (its weights are checkpoint_best.pt), by which
  // metric, the metric's value there and that epoch's test accuracy: the figure to report for the
  // run. None when the selection is the last epoch, whose figures are the ones above.
  std::optional<int64_t> selected_epoch;
  std::string selected_by;  // "val_acc", "val_loss" or "last"
  std::optional<double> selected_value, selected_test_acc;

  /// The figures by name, as report.json's `final` holds them flat.
  nlohmann::ordered_json to_json() const;
  static FinalRecord from_json(const nlohmann::ordered_json& j);
};

/// Where a run stopped: its epoch and the steps it had done in that epoch.
struct Position {
  int64_t epoch = 0, step = 0;
};

struct Resumption {
  std::string command, at;
};

struct RunReport {
  std::string run_id, experiment;
  RunStatus status = RunStatus::kRunning;
  std::string error;  // "" when none
  Json config;        // the resolved config
  std::string config_hash;
  std::string command;
  EnvironmentRecord environment;
  ModelRecord model;
  std::optional<DataRecord> data;
  std::vector<EpochRecord> epochs;
  std::optional<ClassRecord> test_classes;
  std::optional<FinalRecord> final;
  std::optional<Position> diverged_at, interrupted_at;
  std::string stopped_early;  // why early stopping ended the run, when it did
  std::vector<Resumption> resumed;

  Json to_json() const;
  /// A RuntimeError naming `origin` when `j` is not a dlx.run/1 report.
  static RunReport from_json(const Json& j, const std::string& origin = "report.json");

  /// The summary after the epochs so far; `wall_seconds` covers every session of the run.
  /// The selected epoch is `selected` (an epoch number), chosen by `selected_by`.
  FinalRecord summarize(double wall_seconds, std::optional<int64_t> selected = std::nullopt,
                        const std::string& selected_by = "last") const;
};

/// Reads folder/report.json; a RuntimeError naming the file when it is missing or not a report.
RunReport read_run_report(const std::filesystem::path& folder);

/// Writes folder/report.json atomically.
void write_run_report(const std::filesystem::path& folder, const RunReport& report);

/// Reads a run's metrics.jsonl: its epochs before `before` (all when 0). Lines a crash left
/// unreadable are skipped.
std::vector<EpochRecord> read_metrics(const std::filesystem::path& file, int64_t before = 0);

/// The final figures a comparison shows, in column order.
const std::vector<std::string>& final_columns();

}  // namespace dlx::report
