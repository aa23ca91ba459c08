#include "framework/report/report.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "framework/core/error.h"
#include "framework/core/files.h"

namespace dlx::report {

Json EpochRecord::to_json() const {
  Json j{{"epoch", epoch}, {"train_loss", train_loss}, {"train_acc", train_acc}};
  if (val_loss) j["val_loss"] = *val_loss;
  if (val_acc) j["val_acc"] = *val_acc;
  j["test_loss"] = test_loss;
  j["test_acc"] = test_acc;
  j["lr"] = lr;
  j["seconds"] = seconds;
  j["examples_per_sec"] = examples_per_sec;
  j["data_seconds"] = data_seconds;
  j["eval_seconds"] = eval_seconds;
  if (loss_scale) j["loss_scale"] = *loss_scale;
  if (skipped_steps) j["skipped_steps"] = *skipped_steps;
  return j;
}

EpochRecord EpochRecord::from_json(const Json& j) {
  EpochRecord r;
  r.epoch = j.at("epoch").get<int64_t>();
  r.train_loss = j.at("train_loss").get<double>();
  r.train_acc = j.at("train_acc").get<double>();
  if (j.contains("val_loss") && j["val_loss"].is_number()) r.val_loss = j["val_loss"].get<double>();
  if (j.contains("val_acc") && j["val_acc"].is_number()) r.val_acc = j["val_acc"].get<double>();
  r.test_loss = j.at("test_loss").get<double>();
  r.test_acc = j.at("test_acc").get<double>();
  r.lr = j.at("lr").get<double>();
  r.seconds = j.at("seconds").get<double>();
  r.examples_per_sec = j.at("examples_per_sec").get<double>();
  r.data_seconds = j.value("data_seconds", 0.0);
  r.eval_seconds = j.value("eval_seconds", 0.0);
  if (j.contains("loss_scale") && j["loss_scale"].is_number())
    r.loss_scale = j["loss_scale"].get<double>();
  if (j.contains("skipped_steps") && j["skipped_steps"].is_number_integer())
    r.skipped_steps = j["skipped_steps"].get<int64_t>();
  return r;
}

MetricsLog::MetricsLog(const std::filesystem::path& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "a");
  if (!file_) throw RuntimeError(path.string() + ": cannot open: " + std::strerror(errno));
}

MetricsLog::~MetricsLog() {
  if (file_) std::fclose(file_);
}

void MetricsLog::append(const EpochRecord& record) {
  // NaN is not JSON: a diverged epoch's loss is written as null.
  std::string line = record.to_json().dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  if (std::fputs(line.c_str(), file_) < 0 || std::fflush(file_) != 0 ||
      ::fsync(fileno(file_)) != 0) {
    throw RuntimeError(path_.string() + ": cannot write: " + std::strerror(errno));
  }
}

}  // namespace dlx::report
