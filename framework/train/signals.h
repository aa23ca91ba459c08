// Interrupting a run: the first SIGINT or SIGTERM asks the loop to stop after its current step (it
// then saves a checkpoint and a report saying `interrupted`); a second one stops the process at
// once, after writing the last report prepared for that case. A signal handler may not allocate
// or lock, so that report is rendered in advance, each time the real one is saved.
#pragma once

#include <deque>
#include <filesystem>
#include <string>

#include "framework/core/process.h"

namespace dlx::train {

class StopOnSignal {
 public:
  StopOnSignal();
  ~StopOnSignal();
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

  /// The report.json to write into `folder` if a second signal comes.
  void prepare(const std::filesystem::path& folder, std::string report_bytes);

  struct Prepared {
    std::string temporary, final, bytes;
  };

 private:
  ScopedSignalHandler handler_;
  // The last two: the handler may still be reading the one before the newest. Older ones are
  // dropped, so memory stays flat however long the run.
  std::deque<Prepared> prepared_;
};

}  // namespace dlx::train
