#include "framework/core/process.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "framework/core/error.h"

extern char** environ;

namespace dlx {

namespace {

// The child's environment, prepared before fork: setenv is not safe between fork and exec in a
// process with threads (the run's data prefetcher, LibTorch's pools).
std::vector<std::string> child_environment(const SpawnOptions& options) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    bool replaced = false;
    for (const auto& [name, value] : options.environment)
      replaced = replaced || entry.compare(0, name.size() + 1, name + "=") == 0;
    if (!replaced) env.push_back(entry);
  }
  for (const auto& [name, value] : options.environment) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& words) {
  std::vector<char*> out;
  for (auto& w : words) out.push_back(w.data());
  out.push_back(nullptr);
  return out;
}

// In the child, before exec: only async-signal-safe calls.
[[noreturn]] void become(const char* program, char** argv, char** envp, const char* output,
                         bool quiet, pid_t parent) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  // The parent may have died before prctl took effect; then nobody would send the signal.
  if (::getppid() != parent) ::_exit(128 + SIGTERM);
  if (*output) {
    int fd = ::open(output, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) ::dup2(fd, STDOUT_FILENO), ::dup2(fd, STDERR_FILENO), ::close(fd);
  } else if (quiet) {
    int fd = ::open("/dev/null", O_WRONLY);
    if (fd >= 0) ::dup2(fd, STDOUT_FILENO), ::close(fd);
  }
  ::execve(program, argv, envp);
  ::_exit(127);
}

}  // namespace

pid_t spawn_child(const std::string& program, const std::vector<std::string>& args,
                  const SpawnOptions& options) {
  std::vector<std::string> words{program};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<std::string> env = child_environment(options);
  std::vector<char*> argv = pointers(words), envp = pointers(env);
  const std::string output = options.output.string();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw RuntimeError("cannot start " + program + ": " + std::strerror(errno));
  if (pid == 0)
    become(program.c_str(), argv.data(), envp.data(), output.c_str(), options.quiet, parent);
  return pid;
}

Ended reap_child() {
  int status = 0;
  const pid_t pid = ::waitpid(-1, &status, WNOHANG);
  if (pid <= 0) return {};
  return {pid, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)};
}

void signal_children(const pid_t* pids, int count, int signal) {
  for (int i = 0; i < count; ++i)
    if (pids[i] > 0) ::kill(pids[i], signal);
}

ScopedSignalHandler::ScopedSignalHandler(void (*handler)(int)) {
  struct sigaction action {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &previous_int_);
  sigaction(SIGTERM, &action, &previous_term_);
}

ScopedSignalHandler::~ScopedSignalHandler() {
  sigaction(SIGINT, &previous_int_, nullptr);
  sigaction(SIGTERM, &previous_term_, nullptr);
}

std::optional<std::string> command_output(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return std::nullopt;
  std::string out;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  const int status = pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return out;
}

}  // namespace dlx
