// Child processes that dlx starts and looks after: a sweep's runs, --nproc's ranks.
#pragma once

#include <sys/types.h>

namespace dlx {

/// To be called in a freshly forked child, before exec. Puts the child in a process group of its
/// own, so that a terminal's Ctrl-C reaches it once, passed on by its parent, rather than twice
/// (a run takes a second signal as "stop at once"); and asks the kernel to send it SIGTERM when
/// `parent` dies, so that a parent killed with -9 leaves no run training on unwatched: the run
/// stops at the end of its step and stays resumable.
void adopt_child_process(pid_t parent);

}  // namespace dlx
