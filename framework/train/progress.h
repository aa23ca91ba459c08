// What a person watching a run sees between the epoch lines: on a terminal, a bar per epoch
// (batches, running loss, images/s, ETA) redrawn a few times a second on stderr; otherwise nothing,
// so that logs hold only the plain per-epoch lines.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace dlx::train {

class Progress {
 public:
  /// `live` draws the bar; pass whether stderr is a terminal.
  Progress(bool live, int64_t epochs) : live_(live), epochs_(epochs) {}
  static bool stderr_is_terminal();

  void start_epoch(int64_t epoch, int64_t batches);
  /// Whether a redraw is due; the loop reads the running loss (a device sync) only then.
  bool due() const;
  void update(int64_t batches_done, double running_loss, double examples_per_sec);
  /// Clears the bar before the epoch's line is printed.
  void finish_epoch();

 private:
  using Clock = std::chrono::steady_clock;
  bool live_;
  int64_t epochs_;
  bool drawn_ = false;
  int64_t epoch_ = 0, batches_ = 0;
  Clock::time_point started_, last_draw_;
};

}  // namespace dlx::train
