#include "framework/distributed/launch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>

#include "framework/core/error.h"
#include "framework/core/process.h"

namespace dlx::distributed {

namespace {

constexpr int kMaxRanks = 256;
pid_t ranks[kMaxRanks];  // read by the signal handler
volatile sig_atomic_t rank_count = 0;

void pass_on(int sig) {
  signal_children(ranks, rank_count, sig);
}

pid_t start_rank(int rank, int nproc, int port, const std::vector<std::string>& args) {
  SpawnOptions options;
  options.environment = {{"RANK", std::to_string(rank)},
                         {"LOCAL_RANK", std::to_string(rank)},
                         {"WORLD_SIZE", std::to_string(nproc)},
                         {"MASTER_ADDR", "127.0.0.1"},
                         {"MASTER_PORT", std::to_string(port)}};
  options.quiet = rank > 0;
  return spawn_child(std::filesystem::read_symlink("/proc/self/exe").string(), args, options);
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

namespace {

// Reaps the ranks; once one has failed, those still running after the grace period are killed.
std::vector<int> wait_for_ranks(int nproc, std::chrono::seconds grace) {
  using Clock = std::chrono::steady_clock;
  std::vector<int> codes(nproc, -1);
  std::optional<Clock::time_point> first_failure;
  for (int running = nproc; running > 0;) {
    const Ended ended = reap_child();
    for (int r = 0; ended.pid > 0 && r < nproc; ++r) {
      if (ranks[r] != ended.pid) continue;
      codes[r] = ended.exit_code, ranks[r] = 0, --running;
      if (codes[r] != 0 && !first_failure) first_failure = Clock::now();
    }
    if (ended.pid > 0) continue;
    // The others normally fail at once too, their peer's connection closed.
    if (first_failure && Clock::now() - *first_failure > grace) pass_on(SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return codes;
}

}  // namespace

int launch_local(int nproc, const std::vector<std::string>& args) {
  if (nproc < 1 || nproc > kMaxRanks)
    throw ConfigError::plain(Location{"--nproc"}, "",
                             "expected 1 to " + std::to_string(kMaxRanks) + " processes, found " +
                                 std::to_string(nproc));
  const int port = free_port();
  ScopedSignalHandler handler(pass_on);
  for (int r = 0; r < nproc; ++r) {
    ranks[r] = start_rank(r, nproc, port, args);
    rank_count = r + 1;
  }
  const std::vector<int> codes = wait_for_ranks(nproc, std::chrono::seconds(30));
  if (codes[0] != 0) return codes[0];
  for (int c : codes)
    if (c != 0) return c;
  return 0;
}

}  // namespace dlx::distributed
