#include "framework/dist/launch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <thread>

#include "framework/core/error.h"

namespace dlx::dist {

namespace {

constexpr int kMaxRanks = 256;
pid_t ranks[kMaxRanks];  // read by the signal handler
volatile sig_atomic_t rank_count = 0;

void pass_on(int sig) {
  for (int i = 0; i < rank_count; ++i)
    if (ranks[i] > 0) kill(ranks[i], sig);
}

pid_t start_rank(int rank, int nproc, int port, const std::vector<std::string>& args) {
  pid_t pid = fork();
  if (pid < 0) throw RuntimeError(std::string("--nproc: cannot start a rank: ") + strerror(errno));
  if (pid > 0) return pid;
  // The child: its own process group, so that a terminal's Ctrl-C reaches it once, through us.
  setpgid(0, 0);
  setenv("RANK", std::to_string(rank).c_str(), 1);
  setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
  setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
  setenv("MASTER_ADDR", "127.0.0.1", 1);
  setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
  if (rank > 0) {
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, STDOUT_FILENO);
  }
  std::vector<char*> argv;
  std::string self = "/proc/self/exe";
  argv.push_back(self.data());
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(self.c_str(), argv.data());
  _exit(127);
}

int exit_code(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
    if (fd >= 0) close(fd);
    throw RuntimeError(std::string("--nproc: no free port on 127.0.0.1: ") + strerror(errno));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

int launch_local(int nproc, const std::vector<std::string>& args) {
  if (nproc < 1 || nproc > kMaxRanks)
    throw ConfigError::plain(Location{"--nproc"}, "",
                             "expected 1 to " + std::to_string(kMaxRanks) + " processes, found " +
                                 std::to_string(nproc));
  const int port = free_port();
  std::signal(SIGINT, pass_on);
  std::signal(SIGTERM, pass_on);
  for (int r = 0; r < nproc; ++r) {
    ranks[r] = start_rank(r, nproc, port, args);
    rank_count = r + 1;
  }
  using Clock = std::chrono::steady_clock;
  std::vector<int> codes(nproc, -1);
  int running = nproc;
  Clock::time_point first_failure{};
  bool stopped = false;
  while (running > 0) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (int r = 0; r < nproc; ++r) {
        if (ranks[r] != pid) continue;
        codes[r] = exit_code(status), ranks[r] = 0, --running;
        if (codes[r] != 0 && first_failure == Clock::time_point{}) first_failure = Clock::now();
      }
      continue;
    }
    // A rank failed: the others normally fail at once too (their peer's connection closed);
    // any still running after the grace period are stopped.
    if (!stopped && first_failure != Clock::time_point{} &&
        Clock::now() - first_failure > std::chrono::seconds(30)) {
      pass_on(SIGKILL);
      stopped = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (codes[0] != 0) return codes[0];
  for (int c : codes)
    if (c != 0) return c;
  return 0;
}

}  // namespace dlx::dist
