// The running part of a sweep: launching points into free slots (`jobs` at a time, the CPU's
// cores divided between them), watching them, recording each end in sweep.json, and passing a
// Ctrl-C on to the running points once.
#pragma once

#include <iosfwd>
#include <optional>
#include <vector>

#include "framework/core/process.h"
#include "framework/report/sweep_index.h"
#include "framework/sweep/plan.h"
#include "framework/sweep/runner.h"

namespace dlx::sweep {

/// The sweep's index and the file it is saved in ("" for a task of a job array: tasks run at
/// once on a cluster, so none writes it).
struct Index {
  report::SweepIndex doc;
  std::filesystem::path folder;

  /// Reads the point's report into its entry and saves; returns its status.
  report::RunStatus update(size_t i, const std::filesystem::path& run);
  void mark(size_t i, report::RunStatus status);
  void save();
};

/// The index of `plans`, every point pending.
Index make_index(const std::filesystem::path& root, const std::string& name,
                 const std::vector<Plan>& plans, bool persist);

/// One run to start: plans[index], new or resumed, to the end or to an epoch.
struct Task {
  size_t index = 0;
  bool resume = false;
  int64_t stop_after = 0;  // 0: to the end
};

/// What a sweep runs and when: the scheduler asks for a task whenever a slot is free, and says
/// when each run has ended (its folder tells how).
class Work {
 public:
  virtual ~Work() = default;
  /// A run to start now, or none for now. None while nothing runs means the sweep is over.
  virtual std::optional<Task> next() = 0;
  virtual void ended(size_t index) = 0;
  /// Points with training still to do that no run is doing.
  virtual size_t not_started() const = 0;
};

/// Each of `pending` once, in order: a grid or random search.
class EveryPoint : public Work {
 public:
  EveryPoint(const std::vector<Plan>& plans, std::vector<size_t> pending)
      : plans_(plans), pending_(std::move(pending)) {}
  std::optional<Task> next() override;
  void ended(size_t) override {}
  size_t not_started() const override { return pending_.size() - next_; }

 private:
  const std::vector<Plan>& plans_;
  const std::vector<size_t> pending_;
  size_t next_ = 0;
};

class Scheduler {
 public:
  Scheduler(const std::vector<Plan>& plans, Work& work, Index& index, const SweepOptions& options,
            SweepResult& result, std::ostream& out);

  int threads() const { return threads_; }
  size_t not_started() const { return work_.not_started(); }
  /// Runs every pending point, or until a signal; returns the signal (0 when none came).
  int run();

 private:
  struct Job {
    size_t index;
    int slot;
    pid_t pid;
  };
  void launch(const Task& task);
  void finished(const Ended& ended);
  void draw();
  void clear();

  const std::vector<Plan>& plans_;
  Work& work_;
  Index& index_;
  const SweepOptions& options_;
  SweepResult& result_;
  std::ostream& out_;
  const int jobs_, threads_;
  std::vector<bool> slot_busy_;
  std::vector<Job> running_;
  int drawn_ = 0;
};

}  // namespace dlx::sweep
