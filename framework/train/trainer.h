// d2l's training loop: one epoch of steps (forward, cross-entropy, backward, optimizer step), and
// evaluation under inference mode. Loss and correct counts accumulate on the device and are read
// once per epoch (and when the progress bar redraws), so no step waits on a host copy.
#pragma once

#include <atomic>

#include <torch/optim/optimizer.h>

#include "framework/data/batches.h"
#include "framework/nn/builder.h"
#include "framework/report/report.h"
#include "framework/train/progress.h"

namespace dlx::train {

/// Set to a signal number (SIGINT, SIGTERM) to stop training after the current step.
extern std::atomic<int> stop_signal;

struct EpochTotals {
  double loss = 0;  // mean over examples
  double accuracy = 0;
  int64_t examples = 0;
  double seconds = 0;
  double data_seconds = 0;
  bool stopped = false;  // stop_signal ended the epoch early
};

/// Trains one epoch (1-based) over `split`.
EpochTotals train_epoch(nn::Network& network, torch::optim::Optimizer& optimizer,
                        const data::Split& split, const data::BatchOptions& options, int64_t epoch,
                        Progress& progress);

/// Mean loss and accuracy over `split`, in eval mode and without autograd.
EpochTotals evaluate(nn::Network& network, const data::Split& split,
                     const data::BatchOptions& options);

}  // namespace dlx::train
