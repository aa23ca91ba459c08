// An epoch's record, and metrics.jsonl: one line per epoch, appended and synced as training goes.
// report.json, which holds the same records and the rest of the run, is run_report.h.
#pragma once

#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace dlx::report {

using Json = nlohmann::ordered_json;

inline constexpr const char* kSchema = "dlx.run/1";

/// The figures of one epoch, as d2l reports them.
struct EpochRecord {
  int64_t epoch = 0;  // 1-based; 0: the starting weights, evaluated without training (epochs: 0)
  std::optional<double> train_loss, train_acc;  // none for epoch 0
  double test_loss = 0, test_acc = 0;
  std::optional<double> val_loss, val_acc;  // with a validation split
  double lr = 0;
  double seconds = 0;           // training time of the epoch (evaluation excluded, as d2l)
  double examples_per_sec = 0;  // training examples over training time
  double data_seconds = 0;      // part of `seconds` spent preparing batches
  double eval_seconds = 0;
  // With float16's loss scaling: the scale at the epoch's end, and the steps skipped because
  // their gradients overflowed.
  std::optional<double> loss_scale;
  std::optional<int64_t> skipped_steps;
  // Figures of registered metrics without a field above ("val_top5_acc"), by name.
  std::map<std::string, double> more;

  /// Each field once, with its JSON name: `v(name, member)` for what every record holds,
  /// `v.optional(name, member)` for what older or other records may lack. to_json, from_json,
  /// value and set all go through it.
  template <class V>
  void visit(V& v) {
    fields(*this, v);
  }
  template <class V>
  void visit(V& v) const {
    fields(*this, v);
  }

  /// The figure named `name` ("val_acc", "test_loss", or a registered metric's), if recorded.
  std::optional<double> value(const std::string& name) const;
  /// Records the figure `name`: its field, or else `more`.
  void set(const std::string& name, double value);

  Json to_json() const;
  static EpochRecord from_json(const Json& j);

 private:
  template <class R, class V>
  static void fields(R& r, V& v) {
    v("epoch", r.epoch);
    v.optional("train_loss", r.train_loss);
    v.optional("train_acc", r.train_acc);
    v.optional("val_loss", r.val_loss);
    v.optional("val_acc", r.val_acc);
    v("test_loss", r.test_loss);
    v("test_acc", r.test_acc);
    v("lr", r.lr);
    v("seconds", r.seconds);
    v("examples_per_sec", r.examples_per_sec);
    v.optional("data_seconds", r.data_seconds);
    v.optional("eval_seconds", r.eval_seconds);
    v.optional("loss_scale", r.loss_scale);
    v.optional("skipped_steps", r.skipped_steps);
  }
};

/// Appends one JSON line per epoch; each line is flushed and synced before append() returns.
class MetricsLog {
 public:
  explicit MetricsLog(const std::filesystem::path& path);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  void append(const EpochRecord& record);

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

}  // namespace dlx::report
