#include "framework/sweep/runner.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <thread>

#include "framework/core/error.h"
#include "framework/core/files.h"
#include "framework/core/process.h"
#include "framework/core/system.h"
#include "framework/nn/builder.h"

namespace dlx::sweep {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

enum class Action { kSkip, kRun, kResume };

struct Plan {
  const Point* point;
  fs::path folder;
  std::string identity;  // config_hash of the resolved config
  int64_t epochs = 0;
  Action action = Action::kRun;
  std::string note;  // why, for the terminal
};

Json read_json(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return nullptr;
  return Json::parse(read_file(file), nullptr, /*allow_exceptions=*/false);
}

// Moves an old folder out of the point's way, keeping it: label@<why>, label@<why>-2, ...
void move_aside(const fs::path& folder, const std::string& why) {
  fs::path target = folder.string() + "@" + why;
  for (int n = 2; fs::exists(target); ++n)
    target = folder.string() + "@" + why + "-" + std::to_string(n);
  fs::rename(folder, target);
}

Plan decide(const Point& point, const fs::path& folder) {
  config::ExperimentSpec spec = load_point(point);
  nn::build_network(spec);  // shapes too: every point is checked before the first run starts
  Plan plan{
      &point,       folder, config::config_hash(config::resolved_json(spec)), spec.train.epochs,
      Action::kRun, ""};
  Json report = read_json(folder / "report.json");
  if (!fs::exists(folder)) return plan;
  if (!report.is_object()) {
    move_aside(folder, "unreadable");
    plan.note = "an earlier folder had no readable report; kept beside";
    return plan;
  }
  const std::string status = report.value("status", "");
  if (report.value("config_hash", "") != plan.identity) {
    move_aside(folder, report.value("config_hash", "old"));
    plan.note = "the config changed; the earlier run is kept beside";
  } else if (status == "completed" || status == "diverged") {
    plan.action = Action::kSkip;
    plan.note = status + " earlier";
  } else if ((status == "interrupted" || status == "running") &&
             fs::exists(folder / "train_state.pt")) {
    plan.action = Action::kResume;
    plan.note = "resuming its " + status + " run";
  } else {
    move_aside(folder, status.empty() ? "old" : status);
    plan.note = "re-running; the " + status + " run is kept beside";
  }
  return plan;
}

// The sweep's index, rewritten atomically whenever a point changes.
class Index {
 public:
  // With `persist` false (a task of a job array), nothing is written.
  Index(const fs::path& root, const std::string& name, const std::vector<Plan>& plans, bool persist)
      : file_(persist ? root / "sweep.json" : fs::path()) {
    doc_ = {{"schema", "dlx.sweep/1"},
            {"name", name},
            {"updated", utc_now()},
            {"points", Json::array()}};
    for (const auto& p : plans) {
      Json values = Json::object();
      for (const auto& [key, value] : p.point->values)
        values[key] = config::to_json(YAML::Load(value));
      doc_["points"].push_back({{"label", p.point->label},
                                {"file", p.point->file.string()},
                                {"values", values},
                                {"folder", p.folder.string()},
                                {"config_hash", p.identity},
                                {"status", "pending"},
                                {"final", nullptr},
                                {"error", nullptr}});
    }
  }
  // Reads the point's report into the index.
  std::string update(size_t i, const fs::path& folder) {
    Json report = read_json(folder / "report.json");
    Json& entry = doc_["points"][i];
    if (!report.is_object()) {
      entry["status"] = "failed";
      entry["error"] = "no readable report.json (see " + (folder / "log.txt").string() + ")";
    } else {
      entry["status"] = report.value("status", "failed");
      entry["final"] = report.contains("final") ? report["final"] : Json(nullptr);
      entry["error"] = report.contains("error") ? report["error"] : Json(nullptr);
    }
    save();
    return entry["status"];
  }
  void mark(size_t i, const std::string& status) {
    doc_["points"][i]["status"] = status;
    save();
  }
  const Json& entry(size_t i) const { return doc_["points"][i]; }

 private:
  void save() {
    if (file_.empty()) return;
    doc_["updated"] = utc_now();
    write_file_atomic(file_, doc_.dump(2, ' ', false, Json::error_handler_t::replace) + "\n");
  }
  fs::path file_;
  Json doc_;
};

std::atomic<int> sweep_signal{0};

pid_t spawn(const fs::path& program, const std::vector<std::string>& args, const fs::path& log) {
  const pid_t parent = ::getpid();
  pid_t pid = fork();
  if (pid < 0) throw RuntimeError(std::string("cannot start a run: fork failed"));
  if (pid > 0) return pid;
  adopt_child_process(parent);
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) ::dup2(fd, STDOUT_FILENO), ::dup2(fd, STDERR_FILENO), ::close(fd);
  std::vector<char*> argv{const_cast<char*>(program.c_str())};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(program.c_str(), argv.data());
  ::_exit(127);
}

struct Job {
  size_t index;
  int slot;
  pid_t pid;
};

std::vector<std::string> child_args(const Plan& plan, int threads, const std::string& device) {
  std::vector<std::string> args;
  if (plan.action == Action::kResume) {
    args = {"resume", plan.folder.string()};
  } else {
    args = {"run", plan.point->file.string(), "--folder", plan.folder.string()};
    for (const auto& o : plan.point->overrides)
      args.insert(args.end(), {"--set", o.key + "=" + o.value});
  }
  args.insert(args.end(), {"--threads", std::to_string(threads)});
  if (!device.empty()) args.insert(args.end(), {"--device", device});
  return args;
}

// "epoch 3/10: loss ..." from a running point's metrics, for the live display.
std::string latest_epoch(const fs::path& folder, int64_t epochs) {
  std::ifstream in(folder / "metrics.jsonl");
  std::string line, last;
  while (std::getline(in, line)) last = line;
  Json record = Json::parse(last, nullptr, false);
  if (!record.is_object()) return "starting";
  return fmt::format("epoch {}/{}: loss {:.3f}, test acc {:.3f}", record.value("epoch", 0), epochs,
                     record.value("train_loss", 0.0), record.value("test_acc", 0.0));
}

std::string final_words(const Json& entry) {
  std::string words = entry.value("status", "");
  if (entry["final"].is_object() && entry["final"].contains("test_acc")) {
    words += fmt::format(", test acc {:.3f}", entry["final"]["test_acc"].get<double>());
  }
  if (entry["error"].is_string()) words += " (" + entry["error"].get<std::string>() + ")";
  return words;
}

}  // namespace

namespace {

// Restores the previous SIGINT/SIGTERM handlers when the sweep ends.
class SweepSignals {
 public:
  SweepSignals() {
    sweep_signal = 0;
    struct sigaction action {};
    action.sa_handler = [](int s) { sweep_signal = s; };
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~SweepSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {
  }, old_term_{};
};

// The running part of a sweep: launching points into free slots, watching them, recording ends.
class Scheduler {
 public:
  Scheduler(const std::vector<Plan>& plans, std::vector<size_t> pending, Index& index,
            const SweepOptions& options, SweepResult& result, std::ostream& out)
      : plans_(plans),
        pending_(std::move(pending)),
        index_(index),
        options_(options),
        result_(result),
        out_(out),
        jobs_(std::max(1, options.jobs)),
        threads_(std::max(1, physical_cores() / jobs_)),
        slot_busy_(jobs_, false) {}

  int threads() const { return threads_; }
  size_t not_started() const { return pending_.size() - next_; }

  void run() {
    bool forwarded = false;
    while ((!sweep_signal && next_ < pending_.size()) || !running_.empty()) {
      while (!sweep_signal && next_ < pending_.size() && int(running_.size()) < jobs_) launch();
      if (sweep_signal && !forwarded) {  // the runs have process groups of their own
        for (const auto& j : running_) ::kill(j.pid, sweep_signal.load());
        forwarded = true;
      }
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid > 0) {
        finished(pid);
      } else {
        draw();
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
      }
    }
  }

 private:
  void launch() {
    const int slot =
        int(std::find(slot_busy_.begin(), slot_busy_.end(), false) - slot_busy_.begin());
    const size_t i = pending_[next_++];
    const Plan& plan = plans_[i];
    const std::string device =
        options_.devices.empty() ? "" : options_.devices[slot % options_.devices.size()];
    fs::create_directories(plan.folder);
    pid_t pid =
        spawn(options_.program, child_args(plan, threads_, device), plan.folder / "log.txt");
    index_.mark(i, "running");
    running_.push_back({i, slot, pid});
    slot_busy_[slot] = true;
    if (!options_.live) out_ << "start " << plan.point->label << std::endl;
  }

  void finished(pid_t pid) {
    auto it =
        std::find_if(running_.begin(), running_.end(), [&](const Job& j) { return j.pid == pid; });
    if (it == running_.end()) return;
    const size_t i = it->index;
    slot_busy_[it->slot] = false;
    running_.erase(it);
    ++done_;
    const std::string outcome = index_.update(i, plans_[i].folder);
    if (outcome == "completed")
      ++result_.completed;
    else if (outcome == "diverged")
      ++result_.diverged;
    else if (outcome == "interrupted")
      ++result_.interrupted;
    else
      ++result_.failed;
    clear();
    out_ << fmt::format("[{}/{}] {}: {}", done_ + result_.skipped, plans_.size(),
                        plans_[i].point->label, final_words(index_.entry(i)))
         << std::endl;
  }

  // On a terminal: one line per running run and an overall count, redrawn in place.
  void draw() {
    if (!options_.live) return;
    clear();
    for (const auto& j : running_) {
      const Plan& plan = plans_[j.index];
      out_ << plan.point->label << ": " << latest_epoch(plan.folder, plan.epochs) << "\n";
    }
    out_ << fmt::format("{}/{} done, {} running, {} failed", done_ + result_.skipped, plans_.size(),
                        running_.size(), result_.failed)
         << std::flush;
    drawn_ = int(running_.size());
  }

  void clear() {
    if (!options_.live) return;
    if (drawn_) out_ << "\033[" << drawn_ << "A";
    out_ << "\r\033[J";
    drawn_ = 0;
  }

  const std::vector<Plan>& plans_;
  const std::vector<size_t> pending_;
  Index& index_;
  const SweepOptions& options_;
  SweepResult& result_;
  std::ostream& out_;
  const int jobs_, threads_;
  std::vector<bool> slot_busy_;
  std::vector<Job> running_;
  size_t next_ = 0, done_ = 0;
  int drawn_ = 0;
};

}  // namespace

SweepResult run_sweep(const std::vector<Point>& points, const SweepOptions& options,
                      std::ostream& out) {
  const fs::path root = options.runs_root / options.name;
  fs::create_directories(root);
  std::vector<Plan> plans;
  std::set<std::string> labels;
  std::vector<Point> chosen = points;
  if (options.point >= 0) {
    if (size_t(options.point) >= points.size()) {
      throw ConfigError::plain({"--point"}, "",
                               "the sweep has points 0 to " + std::to_string(points.size() - 1) +
                                   ", found " + std::to_string(options.point));
    }
    chosen = {points[options.point]};
  }
  for (const auto& p : chosen) {
    if (!labels.insert(p.label).second) {
      throw ConfigError::plain({p.file.string()}, "",
                               "two points of the sweep share the label " + p.label);
    }
    plans.push_back(decide(p, root / p.label));
  }
  Index index(root, options.name, plans, options.point < 0);
  SweepResult result;
  std::vector<size_t> pending;
  for (size_t i = 0; i < plans.size(); ++i) {
    if (!plans[i].note.empty()) out << plans[i].point->label << ": " << plans[i].note << "\n";
    if (plans[i].action != Action::kSkip) {
      pending.push_back(i);
      continue;
    }
    if (index.update(i, plans[i].folder) == "diverged") ++result.diverged;
    ++result.skipped;
  }
  Scheduler scheduler(plans, pending, index, options, result, out);
  out << fmt::format(
             "sweep {}: {} points, {} done earlier, {} to run, {} at a time ({} threads each) -> "
             "{}",
             options.name, plans.size(), result.skipped, pending.size(), std::max(1, options.jobs),
             scheduler.threads(), root.string())
      << std::endl;
  {
    SweepSignals signals;
    scheduler.run();
  }
  out << fmt::format(
             "sweep {}: {} completed, {} done earlier, {} failed, {} diverged, {} interrupted, {} "
             "not started",
             options.name, result.completed, result.skipped, result.failed, result.diverged,
             result.interrupted, scheduler.not_started())
      << std::endl;
  if (sweep_signal)
    result.exit_code = 128 + sweep_signal.load();
  else if (result.failed || result.diverged || result.interrupted)
    result.exit_code = 1;
  return result;
}

namespace {
std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
}  // namespace

std::string slurm_script(const SweepOptions& options, size_t count,
                         const std::vector<std::string>& command) {
  const fs::path root = fs::absolute(options.runs_root / options.name);
  std::string line;
  for (const auto& word : command) line += shell_quoted(word) + " ";
  return fmt::format(
      "#!/bin/bash\n"
      "# dlx sweep {0} as a Slurm job array: task i runs point i ('dlx sweep ... --dry-run' lists\n"
      "# them) into {1}. A task is idempotent, as a local sweep is: run again, it skips a\n"
      "# completed point and resumes an interrupted one. Add #SBATCH lines (partition, time,\n"
      "# cpus, gres) here or on sbatch's command line. Submit: sbatch {2}\n"
      "# Then: dlx compare {1}\n"
      "#SBATCH --job-name=dlx-{0}\n"
      "#SBATCH --array=0-{3}\n"
      "#SBATCH --output={1}/slurm-%A_%a.out\n"
      "set -euo pipefail\n"
      "cd {4}\n"
      "exec {5}--point \"$SLURM_ARRAY_TASK_ID\"\n",
      options.name, root.string(), (root / "sweep.sbatch").string(), count - 1,
      shell_quoted(fs::current_path().string()), line);
}

}  // namespace dlx::sweep
