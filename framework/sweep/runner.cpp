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
#include <thread>

#include "framework/core/error.h"
#include "framework/core/files.h"
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
  Index(const fs::path& root, const std::string& name, const std::vector<Plan>& plans)
      : file_(root / "sweep.json") {
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
    doc_["updated"] = utc_now();
    write_file_atomic(file_, doc_.dump(2, ' ', false, Json::error_handler_t::replace) + "\n");
  }
  fs::path file_;
  Json doc_;
};

std::atomic<int> sweep_signal{0};

pid_t spawn(const fs::path& program, const std::vector<std::string>& args, const fs::path& log) {
  pid_t pid = fork();
  if (pid < 0) throw RuntimeError(std::string("cannot start a run: fork failed"));
  if (pid > 0) return pid;
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

SweepResult run_sweep(const std::vector<Point>& points, const SweepOptions& options,
                      std::ostream& out) {
  const fs::path root = options.runs_root / options.name;
  fs::create_directories(root);
  std::vector<Plan> plans;
  std::map<std::string, size_t> labels;
  for (const auto& p : points) {
    if (!labels.emplace(p.label, plans.size()).second) {
      throw ConfigError::plain({p.file.string()}, "",
                               "two points of the sweep share the label " + p.label);
    }
    plans.push_back(decide(p, root / p.label));
  }
  Index index(root, options.name, plans);
  SweepResult result;
  std::vector<size_t> pending;
  for (size_t i = 0; i < plans.size(); ++i) {
    if (!plans[i].note.empty()) out << plans[i].point->label << ": " << plans[i].note << "\n";
    if (plans[i].action == Action::kSkip) {
      if (index.update(i, plans[i].folder) == "diverged") ++result.diverged;
      ++result.skipped;
    } else {
      pending.push_back(i);
    }
  }
  const int jobs = std::max(1, options.jobs);
  const int threads = std::max(1, physical_cores() / jobs);
  out << fmt::format(
             "sweep {}: {} points, {} done earlier, {} to run, {} at a time ({} threads each) -> "
             "{}",
             options.name, plans.size(), result.skipped, pending.size(), jobs, threads,
             root.string())
      << std::endl;

  sweep_signal = 0;
  struct sigaction action {
  }, old_int{}, old_term{};
  action.sa_handler = [](int s) { sweep_signal = s; };
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);

  std::vector<Job> running;
  std::vector<bool> slot_busy(jobs, false);
  size_t next = 0, done = 0;
  bool forwarded = false;
  int drawn = 0;
  while ((!sweep_signal && next < pending.size()) || !running.empty()) {
    while (!sweep_signal && next < pending.size() && int(running.size()) < jobs) {
      int slot = int(std::find(slot_busy.begin(), slot_busy.end(), false) - slot_busy.begin());
      const Plan& plan = plans[pending[next]];
      std::string device =
          options.devices.empty() ? "" : options.devices[slot % options.devices.size()];
      fs::create_directories(plan.folder);
      pid_t pid =
          spawn(options.program, child_args(plan, threads, device), plan.folder / "log.txt");
      index.mark(pending[next], "running");
      running.push_back({pending[next], slot, pid});
      slot_busy[slot] = true;
      if (!options.live) out << "start " << plan.point->label << std::endl;
      ++next;
    }
    if (sweep_signal &&
        !forwarded) {  // a terminal's Ctrl-C reaches the runs too; kill -TERM may not
      for (const auto& j : running) ::kill(j.pid, sweep_signal.load());
      forwarded = true;
    }
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      if (options.live) {
        if (drawn) out << "\033[" << drawn << "A";
        for (const auto& j : running) {
          const Plan& plan = plans[j.index];
          out << "\r\033[2K" << plan.point->label << ": " << latest_epoch(plan.folder, plan.epochs)
              << "\n";
        }
        out << "\r\033[2K"
            << fmt::format("{}/{} done, {} running, {} failed", done + result.skipped, plans.size(),
                           running.size(), result.failed)
            << "\033[J" << std::flush;
        drawn = int(running.size());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      continue;
    }
    auto it =
        std::find_if(running.begin(), running.end(), [&](const Job& j) { return j.pid == pid; });
    if (it == running.end()) continue;
    const size_t i = it->index;
    slot_busy[it->slot] = false;
    running.erase(it);
    ++done;
    const std::string outcome = index.update(i, plans[i].folder);
    if (outcome == "completed")
      ++result.completed;
    else if (outcome == "diverged")
      ++result.diverged;
    else if (outcome == "interrupted")
      ++result.interrupted;
    else
      ++result.failed;
    if (options.live && drawn) out << "\033[" << drawn << "A\r\033[J", drawn = 0;
    out << fmt::format("[{}/{}] {}: {}", done + result.skipped, plans.size(), plans[i].point->label,
                       final_words(index.entry(i)))
        << std::endl;
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  const size_t not_started = pending.size() - next;
  out << fmt::format(
             "sweep {}: {} completed, {} done earlier, {} failed, {} diverged, {} interrupted, {} "
             "not started",
             options.name, result.completed, result.skipped, result.failed, result.diverged,
             result.interrupted, not_started)
      << std::endl;
  if (sweep_signal)
    result.exit_code = 128 + sweep_signal.load();
  else if (result.failed || result.diverged || result.interrupted)
    result.exit_code = 1;
  return result;
}

}  // namespace dlx::sweep
