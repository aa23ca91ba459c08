#include "framework/core/process.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>

namespace dlx {

void adopt_child_process(pid_t parent) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  // The parent may have died before prctl took effect; then nobody would send the signal.
  if (::getppid() != parent) ::_exit(128 + SIGTERM);
}

}  // namespace dlx
