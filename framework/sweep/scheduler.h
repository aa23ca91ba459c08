// The running part of a sweep: launching points into free slots (`jobs` at a time, the CPU's
// cores divided between them), watching them, recording each end in sweep.json, and passing a
// Ctrl-C on to the running points once.
#pragma once

#include <iosfwd>
#include <vector>

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

class Scheduler {
 public:
  Scheduler(const std::vector<Plan>& plans, std::vector<size_t> pending, Index& index,
            const SweepOptions& options, SweepResult& result, std::ostream& out);

  int threads() const { return threads_; }
  size_t not_started() const { return pending_.size() - next_; }
  /// Runs every pending point, or until a signal; returns the signal (0 when none came).
  int run();

 private:
  struct Job {
    size_t index;
    int slot;
    pid_t pid;
  };
  void launch();
  void finished(pid_t pid);
  void draw();
  void clear();

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

}  // namespace dlx::sweep
