#include "framework/sweep/scheduler.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ostream>
#include <thread>

#include "framework/core/error.h"
#include "framework/core/process.h"
#include "framework/core/system.h"

namespace dlx::sweep {

namespace fs = std::filesystem;
using report::RunStatus;

namespace {

std::atomic<int> sweep_signal{0};

void on_signal(int signal) {
  sweep_signal = signal;
}

// "epoch 3/10: loss ..." from a running point's metrics, for the live display.
std::string latest_epoch(const fs::path& folder, int64_t epochs) {
  const auto records = report::read_metrics(folder / "metrics.jsonl");
  if (records.empty()) return "starting";
  const auto& r = records.back();
  if (!r.train_loss) return fmt::format("the starting weights: test acc {:.3f}", r.test_acc);
  return fmt::format("epoch {}/{}: loss {:.3f}, test acc {:.3f}", r.epoch, epochs, *r.train_loss,
                     r.test_acc);
}

// ", val acc 0.812, test acc 0.804" of a point's last epoch.
std::string last_figures(const report::SweepPoint& point) {
  if (!point.final || !point.final->last) return "";
  const auto& last = *point.final->last;
  return (last.val_acc ? fmt::format(", val acc {:.3f}", *last.val_acc) : "") +
         fmt::format(", test acc {:.3f}", last.test_acc);
}

std::string final_words(const report::SweepPoint& point) {
  std::string words = point.status ? report::status_name(*point.status) : "pending";
  words += last_figures(point);
  if (!point.error.empty()) words += " (" + point.error + ")";
  return words;
}

std::string paused_words(const report::SweepPoint& point) {
  const int64_t epoch = point.final && point.final->last ? point.final->last->epoch : 0;
  return "paused at epoch " + std::to_string(epoch) + last_figures(point);
}

void count(RunStatus status, SweepResult& result) {
  switch (status) {
    case RunStatus::kCompleted:
      ++result.completed;
      break;
    case RunStatus::kDiverged:
      ++result.diverged;
      break;
    case RunStatus::kInterrupted:
      ++result.interrupted;
      break;
    case RunStatus::kRunning:
    case RunStatus::kFailed:
      ++result.failed;
      break;
  }
}

}  // namespace

Index make_index(const fs::path& root, const std::string& name, const std::vector<Plan>& plans,
                 bool persist) {
  Index index{{name, "", {}}, persist ? root : fs::path()};
  for (const auto& p : plans) {
    report::SweepPoint point;
    point.label = p.point->label;
    point.file = p.point->file.string();
    point.values = report::Json::object();
    for (const auto& [key, value] : p.point->values)
      point.values[key] = config::to_json(YAML::Load(value));
    point.folder = p.folder;
    point.config_hash = p.identity;
    index.doc.points.push_back(std::move(point));
  }
  return index;
}

RunStatus Index::update(size_t i, const fs::path& run) {
  report::SweepPoint& point = doc.points[i];
  try {
    report::RunReport r = report::read_run_report(run);
    point.status = r.status;
    point.final = r.final;
    point.error = r.error;
  } catch (const RuntimeError&) {
    point.status = RunStatus::kFailed;
    point.error = "no readable report.json (see " + (run / "log.txt").string() + ")";
  }
  save();
  return *point.status;
}

void Index::mark(size_t i, RunStatus status) {
  doc.points[i].status = status;
  save();
}

void Index::save() {
  if (!folder.empty()) report::write_sweep_index(folder, doc);
}

std::optional<Task> EveryPoint::next() {
  if (next_ == pending_.size()) return std::nullopt;
  const size_t i = pending_[next_++];
  return Task{i, plans_[i].action == Action::kResume};
}

Scheduler::Scheduler(const std::vector<Plan>& plans, Work& work, Index& index,
                     const SweepOptions& options, SweepResult& result, std::ostream& out)
    : plans_(plans),
      work_(work),
      index_(index),
      options_(options),
      result_(result),
      out_(out),
      jobs_(std::max(1, options.jobs)),
      threads_(std::max(1, physical_cores() / jobs_)),
      slot_busy_(jobs_, false) {}

int Scheduler::run() {
  sweep_signal = 0;
  ScopedSignalHandler handler(on_signal);
  bool forwarded = false;
  while (true) {
    while (!sweep_signal && int(running_.size()) < jobs_) {
      const std::optional<Task> task = work_.next();
      if (!task) break;
      launch(*task);
    }
    if (running_.empty()) break;
    if (sweep_signal && !forwarded) {  // the runs have process groups of their own
      for (const auto& j : running_) ::kill(j.pid, sweep_signal.load());
      forwarded = true;
    }
    if (const Ended ended = reap_child(); ended.pid > 0) {
      finished(ended);
    } else {
      draw();
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }
  return sweep_signal.load();
}

void Scheduler::launch(const Task& task) {
  const int slot = int(std::find(slot_busy_.begin(), slot_busy_.end(), false) - slot_busy_.begin());
  const size_t i = task.index;
  const Plan& plan = plans_[i];
  RunRequest request{plan.point, plan.folder, task.resume, threads_, "", task.stop_after};
  if (!options_.devices.empty()) request.device = options_.devices[slot % options_.devices.size()];
  fs::create_directories(plan.folder);
  SpawnOptions spawn;
  spawn.output = plan.folder / "log.txt";
  const pid_t pid = spawn_child(options_.program, options_.arguments(request), spawn);
  index_.mark(i, RunStatus::kRunning);
  running_.push_back({i, slot, pid});
  slot_busy_[slot] = true;
  if (!options_.live) {
    out_ << (task.resume ? "resume " : "start ") << plan.point->label
         << (task.stop_after ? " to epoch " + std::to_string(task.stop_after) : "") << std::endl;
  }
}

void Scheduler::finished(const Ended& ended) {
  auto it = std::find_if(running_.begin(), running_.end(),
                         [&](const Job& j) { return j.pid == ended.pid; });
  if (it == running_.end()) return;
  const size_t i = it->index;
  slot_busy_[it->slot] = false;
  running_.erase(it);
  const RunStatus status = index_.update(i, plans_[i].folder);
  // An interrupted run that exits 0 paused where its task asked (--stop-after): not an end.
  const bool paused = status == RunStatus::kInterrupted && ended.exit_code == 0;
  if (!paused) count(status, result_);
  clear();
  const report::SweepPoint& point = index_.doc.points[i];
  out_ << fmt::format("[{}/{}] {}: {}", result_.ended(), plans_.size(), point.label,
                      paused ? paused_words(point) : final_words(point))
       << std::endl;
  work_.ended(i);
}

// On a terminal: one line per running run and an overall count, redrawn in place.
void Scheduler::draw() {
  if (!options_.live) return;
  clear();
  for (const auto& j : running_) {
    const Plan& plan = plans_[j.index];
    out_ << plan.point->label << ": " << latest_epoch(plan.folder, plan.epochs) << "\n";
  }
  out_ << fmt::format("{}/{} done, {} running, {} failed", result_.ended(), plans_.size(),
                      running_.size(), result_.failed)
       << std::flush;
  drawn_ = int(running_.size());
}

void Scheduler::clear() {
  if (!options_.live) return;
  if (drawn_) out_ << "\033[" << drawn_ << "A";
  out_ << "\r\033[J";
  drawn_ = 0;
}

}  // namespace dlx::sweep
