#include "framework/report/run_report.h"

#include <fstream>

#include "framework/core/error.h"
#include "framework/core/files.h"

namespace dlx::report {

namespace {

// An epoch's record to read back: not the one of a diverged epoch, whose training loss was NaN
// (null in JSON); epoch 0's (train.epochs: 0) has no training figures at all.
bool readable_record(const Json& e) {
  return e.is_object() && e.contains("epoch") &&
         (!e.contains("train_loss") || e["train_loss"].is_number());
}

constexpr std::pair<RunStatus, const char*> kStatusNames[] = {
    {RunStatus::kRunning, "running"},
    {RunStatus::kCompleted, "completed"},
    {RunStatus::kFailed, "failed"},
    {RunStatus::kDiverged, "diverged"},
    {RunStatus::kInterrupted, "interrupted"}};

Json null_if_empty(const std::string& text) {
  return text.empty() ? Json(nullptr) : Json(text);
}

std::string string_or_empty(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

template <class T>
std::optional<T> optional_at(const Json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  return j[key].get<T>();
}

Json position_json(const Position& p) {
  return {{"epoch", p.epoch}, {"step", p.step}};
}

std::optional<Position> position_at(const Json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_object()) return std::nullopt;
  return Position{j[key].value("epoch", int64_t(0)), j[key].value("step", int64_t(0))};
}

Json model_json(const ModelRecord& m) {
  Json layers = Json::array();
  for (const auto& l : m.layers) {
    layers.push_back({{"name", l.name},
                      {"type", l.type},
                      {"output_shape", l.output_shape},
                      {"parameters", l.parameters},
                      {"macs", l.macs}});
  }
  return {{"name", m.name},
          {"input", m.input},
          {"parameters", m.parameters},
          {"macs_per_example", m.macs_per_example},
          {"layers", layers}};
}

ModelRecord model_from(const Json& j) {
  ModelRecord m{j.value("name", ""),
                j.value("input", std::vector<int64_t>{}),
                j.value("parameters", int64_t(0)),
                j.value("macs_per_example", int64_t(0)),
                {}};
  for (const auto& l : j.value("layers", Json::array())) {
    m.layers.push_back({l.value("name", ""), l.value("type", ""),
                        l.value("output_shape", std::vector<int64_t>{}),
                        l.value("parameters", int64_t(0)), l.value("macs", int64_t(0))});
  }
  return m;
}

Json environment_json(const EnvironmentRecord& e) {
  Json j = {{"dlx_version", e.dlx_version},
            {"libtorch_version", e.libtorch_version},
            {"device", e.device},
            {"device_name", e.device_name},
            {"threads", e.threads},
            {"precision", e.precision},
            {"blas", e.blas},
            {"host", e.host},
            {"started", e.started},
            {"ended", e.ended ? Json(*e.ended) : Json(nullptr)}};
  if (e.world_size > 1) j["world_size"] = e.world_size, j["backend"] = e.backend;
  return j;
}

EnvironmentRecord environment_from(const Json& j) {
  EnvironmentRecord e;
  for (auto [field, key] : {std::pair{&e.dlx_version, "dlx_version"},
                            {&e.libtorch_version, "libtorch_version"},
                            {&e.device, "device"},
                            {&e.device_name, "device_name"},
                            {&e.blas, "blas"},
                            {&e.host, "host"},
                            {&e.started, "started"},
                            {&e.backend, "backend"}}) {
    *field = string_or_empty(j, key);
  }
  e.threads = j.value("threads", int64_t(0));
  e.precision = j.value("precision", std::string("fp32"));  // reports from before bf16
  e.ended = optional_at<std::string>(j, "ended");
  e.world_size = j.value("world_size", int64_t(1));
  return e;
}

Json data_json(const DataRecord& d) {
  Json j = {{"dataset", d.dataset},
            {"source", d.source},
            {"train_examples", d.train_examples},
            {"test_examples", d.test_examples}};
  if (d.val_examples) j["val_examples"] = d.val_examples;
  j["class_names"] = d.class_names;
  j["image_size"] = d.image_size;
  j["load_seconds"] = d.load_seconds;
  j["cache"] = d.cache;
  j["cache_mib"] = double(d.cache_bytes) / (1 << 20);
  j["skipped_bad"] = d.skipped_files.size();
  if (!d.skipped_files.empty()) j["skipped_files"] = d.skipped_files;
  if (!d.mean.empty()) j["normalize"] = {{"mean", d.mean}, {"std", d.std}};
  return j;
}

DataRecord data_from(const Json& j) {
  DataRecord d;
  d.dataset = j.value("dataset", "");
  d.source = j.value("source", "");
  d.train_examples = j.value("train_examples", int64_t(0));
  d.test_examples = j.value("test_examples", int64_t(0));
  d.val_examples = j.value("val_examples", int64_t(0));
  d.class_names = j.value("class_names", std::vector<std::string>{});
  d.image_size = j.value("image_size", std::vector<int64_t>{});
  d.load_seconds = j.value("load_seconds", 0.0);
  d.cache = j.value("cache", "memory");
  d.cache_bytes = int64_t(j.value("cache_mib", 0.0) * (1 << 20));
  d.skipped_files = j.value("skipped_files", std::vector<std::string>{});
  if (j.contains("normalize")) {
    d.mean = j["normalize"].value("mean", std::vector<double>{});
    d.std = j["normalize"].value("std", std::vector<double>{});
  }
  return d;
}

// A per-class figure as {class name: value}.
Json by_class(const std::vector<std::string>& names, const std::vector<double>& values) {
  Json out = Json::object();
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) out[names[i]] = values[i];
  return out;
}

std::vector<double> from_by_class(const Json& j, const char* key,
                                  const std::vector<std::string>& names) {
  std::vector<double> out;
  if (!j.contains(key)) return out;  // reports from before per-class precision and F1
  for (const auto& name : names) out.push_back(j[key].value(name, 0.0));
  return out;
}

Json classes_json(const ClassRecord& c) {
  return {{"names", c.names},
          {"confusion_matrix", c.confusion_matrix},
          {"per_class_accuracy", by_class(c.names, c.per_class_accuracy)},
          {"precision", by_class(c.names, c.precision)},
          {"f1", by_class(c.names, c.f1)},
          {"macro_precision", c.macro_precision},
          {"macro_recall", c.macro_recall},
          {"macro_f1", c.macro_f1}};
}

ClassRecord classes_from(const Json& j) {
  ClassRecord c;
  c.names = j.value("names", std::vector<std::string>{});
  c.confusion_matrix = j.value("confusion_matrix", std::vector<std::vector<int64_t>>{});
  c.per_class_accuracy = from_by_class(j, "per_class_accuracy", c.names);
  c.precision = from_by_class(j, "precision", c.names);
  c.f1 = from_by_class(j, "f1", c.names);
  c.macro_precision = j.value("macro_precision", 0.0);
  c.macro_recall = j.value("macro_recall", 0.0);
  c.macro_f1 = j.value("macro_f1", 0.0);
  return c;
}

}  // namespace

const char* status_name(RunStatus status) {
  for (const auto& [value, name] : kStatusNames)
    if (value == status) return name;
  return "failed";
}

std::optional<RunStatus> parse_status(const std::string& name) {
  for (const auto& [value, text] : kStatusNames)
    if (name == text) return value;
  return std::nullopt;
}

bool is_final(RunStatus status) {
  return status == RunStatus::kCompleted || status == RunStatus::kDiverged;
}

Json FinalRecord::to_json() const {
  Json j = last ? last->to_json() : Json::object();
  j["best_test_acc"] = best_test_acc ? Json(*best_test_acc) : Json(nullptr);
  j["best_epoch"] = best_epoch ? Json(*best_epoch) : Json(nullptr);
  j["wall_seconds"] = wall_seconds;
  j["mean_examples_per_sec"] = mean_examples_per_sec;
  j["data_seconds"] = data_seconds;
  j["compute_seconds"] = compute_seconds;
  j["peak_rss_mib"] = peak_rss_mib;
  if (peak_gpu_allocated_mib) j["peak_gpu_allocated_mib"] = *peak_gpu_allocated_mib;
  if (peak_gpu_reserved_mib) j["peak_gpu_reserved_mib"] = *peak_gpu_reserved_mib;
  if (selected_epoch) {
    j["selected_epoch"] = *selected_epoch;
    j["selected_by"] = selected_by;
    j["selected_value"] = selected_value ? Json(*selected_value) : Json(nullptr);
    j["selected_test_acc"] = selected_test_acc ? Json(*selected_test_acc) : Json(nullptr);
  }
  return j;
}

FinalRecord FinalRecord::from_json(const Json& j) {
  FinalRecord f;
  if (readable_record(j)) f.last = EpochRecord::from_json(j);
  f.best_test_acc = optional_at<double>(j, "best_test_acc");
  f.best_epoch = optional_at<int64_t>(j, "best_epoch");
  f.wall_seconds = j.value("wall_seconds", 0.0);
  f.mean_examples_per_sec = j.value("mean_examples_per_sec", 0.0);
  f.data_seconds = j.value("data_seconds", 0.0);
  f.compute_seconds = j.value("compute_seconds", 0.0);
  f.peak_rss_mib = j.value("peak_rss_mib", 0.0);
  f.peak_gpu_allocated_mib = optional_at<double>(j, "peak_gpu_allocated_mib");
  f.peak_gpu_reserved_mib = optional_at<double>(j, "peak_gpu_reserved_mib");
  f.selected_epoch = optional_at<int64_t>(j, "selected_epoch");
  f.selected_by = string_or_empty(j, "selected_by");
  f.selected_value = optional_at<double>(j, "selected_value");
  f.selected_test_acc = optional_at<double>(j, "selected_test_acc");
  return f;
}

Json RunReport::to_json() const {
  Json epochs_json = Json::array();
  for (const auto& e : epochs) epochs_json.push_back(e.to_json());
  Json j = {{"schema", kSchema},
            {"run_id", run_id},
            {"experiment", experiment},
            {"status", status_name(status)},
            {"error", null_if_empty(error)},
            {"config", config},
            {"config_hash", config_hash},
            {"command", command},
            {"environment", environment_json(environment)},
            {"model", model_json(model)}};
  if (data) j["data"] = data_json(*data);
  j["epochs"] = epochs_json;
  if (test_classes) j["test_classes"] = classes_json(*test_classes);
  if (diverged_at) j["diverged_at"] = position_json(*diverged_at);
  if (interrupted_at) j["interrupted_at"] = position_json(*interrupted_at);
  if (!stopped_early.empty()) j["stopped_early"] = stopped_early;
  if (!resumed.empty()) {
    j["resumed"] = Json::array();
    for (const auto& r : resumed) j["resumed"].push_back({{"command", r.command}, {"at", r.at}});
  }
  if (final) j["final"] = final->to_json();
  return j;
}

RunReport RunReport::from_json(const Json& j, const std::string& origin) {
  if (!j.is_object() || j.value("schema", "") != kSchema || !j.contains("config") ||
      !j["config"].is_object())
    throw RuntimeError(origin + ": not a dlx run report");
  RunReport r;
  try {
    r.run_id = j.value("run_id", "");
    r.experiment = j.value("experiment", "");
    const auto status = parse_status(j.value("status", ""));
    if (!status) throw RuntimeError(origin + ": unknown status '" + j.value("status", "") + "'");
    r.status = *status;
    r.error = string_or_empty(j, "error");
    r.config = j["config"];
    r.config_hash = j.value("config_hash", "");
    r.command = j.value("command", "");
    r.environment = environment_from(j.value("environment", Json::object()));
    r.model = model_from(j.value("model", Json::object()));
    if (j.contains("data") && j["data"].is_object()) r.data = data_from(j["data"]);
    for (const auto& e : j.value("epochs", Json::array()))
      if (readable_record(e)) r.epochs.push_back(EpochRecord::from_json(e));
    if (j.contains("test_classes")) r.test_classes = classes_from(j["test_classes"]);
    if (j.contains("final") && j["final"].is_object()) r.final = FinalRecord::from_json(j["final"]);
    r.diverged_at = position_at(j, "diverged_at");
    r.interrupted_at = position_at(j, "interrupted_at");
    r.stopped_early = string_or_empty(j, "stopped_early");
    for (const auto& e : j.value("resumed", Json::array()))
      r.resumed.push_back({e.value("command", ""), e.value("at", "")});
  } catch (const Json::exception& e) {
    throw RuntimeError(origin + ": not a dlx run report (" + e.what() + ")");
  }
  return r;
}

FinalRecord RunReport::summarize(double wall_seconds, std::optional<int64_t> selected,
                                 const std::string& selected_by) const {
  FinalRecord f;
  double examples = 0, seconds = 0;
  for (const auto& e : epochs) {
    examples += e.examples_per_sec * e.seconds;
    seconds += e.seconds;
    f.data_seconds += e.data_seconds;
    if (!f.best_test_acc || e.test_acc > *f.best_test_acc)
      f.best_test_acc = e.test_acc, f.best_epoch = e.epoch;
  }
  if (!epochs.empty()) f.last = epochs.back();
  f.wall_seconds = wall_seconds;
  f.mean_examples_per_sec = seconds > 0 ? examples / seconds : 0.0;
  f.compute_seconds = seconds - f.data_seconds;
  // Selecting the last epoch adds nothing to its figures above.
  if (selected_by == "last") return f;
  for (const auto& e : epochs) {
    if (!selected || e.epoch != *selected) continue;
    f.selected_epoch = e.epoch;
    f.selected_by = selected_by;
    // The kept weights' own figures: the EMA's when selection keeps the average.
    const bool ema = selected_by.rfind("ema", 0) == 0;
    if (selected_by != "ema") f.selected_value = e.value(selected_by);
    f.selected_test_acc = ema ? e.value("ema_test_acc") : e.test_acc;
  }
  return f;
}

RunReport read_run_report(const std::filesystem::path& folder) {
  const auto file = folder / "report.json";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec))
    throw RuntimeError(file.string() + ": no such report");
  return RunReport::from_json(Json::parse(read_file(file), nullptr, /*allow_exceptions=*/false),
                              file.string());
}

void write_run_report(const std::filesystem::path& folder, const RunReport& report) {
  // NaN is not JSON: a diverged epoch's loss is written as null.
  write_file_atomic(folder / "report.json",
                    report.to_json().dump(2, ' ', false, Json::error_handler_t::replace) + "\n");
}

std::vector<EpochRecord> read_metrics(const std::filesystem::path& file, int64_t before) {
  std::vector<EpochRecord> epochs;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    Json record = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!readable_record(record)) continue;
    EpochRecord e = EpochRecord::from_json(record);
    if (before == 0 || e.epoch < before) epochs.push_back(e);
  }
  return epochs;
}

const std::vector<std::string>& final_columns() {
  static const std::vector<std::string> columns{"val_acc",
                                                "test_acc",
                                                "selected_epoch",
                                                "selected_test_acc",
                                                "best_test_acc",
                                                "best_epoch",
                                                "train_loss",
                                                "mean_examples_per_sec",
                                                "wall_seconds",
                                                "peak_gpu_allocated_mib",
                                                "peak_gpu_reserved_mib"};
  return columns;
}

}  // namespace dlx::report
