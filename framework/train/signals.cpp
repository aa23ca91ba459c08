#include "framework/train/signals.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <csignal>

#include "framework/train/trainer.h"

namespace dlx::train {

namespace {

std::atomic<const StopOnSignal::Prepared*> prepared_report{nullptr};

// Only async-signal-safe calls below: open, write, fsync, close, rename, _exit.
void on_signal(int signal) {
  if (stop_signal.exchange(signal) == 0) return;  // the first: the loop stops after its step
  if (const StopOnSignal::Prepared* p = prepared_report.load()) {
    int fd = ::open(p->temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      const char* data = p->bytes.data();
      size_t left = p->bytes.size();
      while (left > 0) {
        ssize_t n = ::write(fd, data, left);
        if (n <= 0) break;
        data += n, left -= size_t(n);
      }
      ::fsync(fd);
      ::close(fd);
      if (left == 0) ::rename(p->temporary.c_str(), p->final.c_str());
    }
  }
  ::_exit(128 + signal);
}

}  // namespace

StopOnSignal::StopOnSignal() : handler_((stop_signal = 0, on_signal)) {}

StopOnSignal::~StopOnSignal() {
  prepared_report = nullptr;
}

void StopOnSignal::prepare(const std::filesystem::path& folder, std::string report_bytes) {
  // A temporary name of its own: the handler may fire while the normal write is half done.
  prepared_.push_back(Prepared{(folder / "report.json.signal.tmp").string(),
                               (folder / "report.json").string(), std::move(report_bytes)});
  prepared_report = &prepared_.back();
  if (prepared_.size() > 2) prepared_.pop_front();
}

}  // namespace dlx::train
