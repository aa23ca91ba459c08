#include "framework/train/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace dlx::train {

bool Progress::stderr_is_terminal() {
  return ::isatty(STDERR_FILENO) == 1;
}

void Progress::start_epoch(int64_t epoch, int64_t batches) {
  epoch_ = epoch, batches_ = batches;
  started_ = last_draw_ = Clock::now();
}

bool Progress::due() const {
  return live_ && Clock::now() - last_draw_ > std::chrono::milliseconds(200);
}

void Progress::update(int64_t done, double loss, double examples_per_sec) {
  if (!live_) return;
  last_draw_ = Clock::now();
  constexpr int kWidth = 24;
  int filled = batches_ ? static_cast<int>(kWidth * done / batches_) : 0;
  double elapsed = std::chrono::duration<double>(last_draw_ - started_).count();
  int eta = done ? static_cast<int>(elapsed * double(batches_ - done) / double(done)) : 0;
  std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
  std::fprintf(stderr,
               "\r\033[2Kepoch %lld/%lld [%s] %lld/%lld loss %.4f %.1f examples/sec ETA %d:%02d",
               static_cast<long long>(epoch_), static_cast<long long>(epochs_), bar.c_str(),
               static_cast<long long>(done), static_cast<long long>(batches_), loss,
               examples_per_sec, eta / 60, eta % 60);
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish_epoch() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[2K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace dlx::train
