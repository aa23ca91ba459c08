// Child processes that dlx starts and looks after (a sweep's runs, --nproc's ranks), and the
// signal handlers that a long command installs for its lifetime. One toolkit, so that every
// child is started, reaped and signalled the same way.
#pragma once

#include <sys/types.h>

#include <csignal>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dlx {

struct SpawnOptions {
  std::vector<std::pair<std::string, std::string>> environment;  // set in the child
  std::filesystem::path output;  // the child's stdout and stderr appended here; "" = ours
  bool quiet = false;            // the child's stdout goes to /dev/null (its stderr stays)
};

/// Starts `program` with `args` (argv[1..]) and returns its pid. The child gets a process group
/// of its own, so that a terminal's Ctrl-C reaches it once, passed on by its parent, rather than
/// twice (a run takes a second signal as "stop at once"); and the kernel sends it SIGTERM should
/// this process die, so that a parent killed with -9 leaves nothing training unwatched: a run
/// stops at the end of its step and stays resumable. A failed fork is a RuntimeError.
pid_t spawn_child(const std::string& program, const std::vector<std::string>& args,
                  const SpawnOptions& options = {});

/// Runs `command` with /bin/sh and returns what it wrote on stdout, or nullopt when it could not
/// start or exited non-zero. For asking other programs questions (`scontrol show config`).
std::optional<std::string> command_output(const std::string& command);

/// A child that ended: its pid and exit code (128 + the signal that killed it).
struct Ended {
  pid_t pid = 0;  // 0 when none has ended
  int exit_code = 0;
};

/// A child of this process that has ended, without waiting; pid 0 when none has.
Ended reap_child();

/// Sends `signal` to each pid > 0 (async-signal-safe: callable from a handler).
void signal_children(const pid_t* pids, int count, int signal);

/// Installs `handler` for SIGINT and SIGTERM while alive; the previous handlers come back after.
class ScopedSignalHandler {
 public:
  explicit ScopedSignalHandler(void (*handler)(int));
  ~ScopedSignalHandler();
  ScopedSignalHandler(const ScopedSignalHandler&) = delete;
  ScopedSignalHandler& operator=(const ScopedSignalHandler&) = delete;

 private:
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
};

}  // namespace dlx
