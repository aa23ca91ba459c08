// `dlx run --nproc N`: N copies of this program on this machine, as the ranks of one world, the
// way torchrun starts them (the same variables), so that one code path serves both.
#pragma once

#include <string>
#include <vector>

namespace dlx::distributed {

/// Runs /proc/self/exe with `args` as ranks 0..nproc-1 (RANK, WORLD_SIZE, LOCAL_RANK,
/// MASTER_ADDR=127.0.0.1, MASTER_PORT a free port). Rank 0's output is this process's; the other
/// ranks' standard output is dropped (their errors still show). SIGINT and SIGTERM are passed on
/// once. When a rank fails, the others have a grace period to notice and fail too, then are
/// stopped. Returns rank 0's exit code, or else the first non-zero one.
int launch_local(int nproc, const std::vector<std::string>& args);

/// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

}  // namespace dlx::distributed
