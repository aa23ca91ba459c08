// d2l's training loop: one epoch of steps (forward, loss, backward, optimizer step), and
// evaluation under inference mode. The loss and every registered metric (framework/metrics)
// accumulate on the device and are read at the end of the epoch (and when the progress bar
// redraws), so no step waits on a host copy.
// An epoch can stop between steps and be continued later from its EpochState, exactly.
#pragma once

#include <torch/optim/optimizer.h>

#include <atomic>
#include <map>
#include <string>

#include "framework/data/batches.h"
#include "framework/distributed/group.h"
#include "framework/metrics/loss.h"
#include "framework/nn/builder.h"
#include "framework/train/loss_scale.h"
#include "framework/train/progress.h"

namespace dlx::train {

/// Set to a signal number (SIGINT, SIGTERM) to stop training after the current step.
extern std::atomic<int> stop_signal;

/// Where an epoch stands: the sums over the steps done so far. Saved with an interrupted run.
struct EpochState {
  int64_t epoch = 1;                          // 1-based
  int64_t steps = 0;                          // steps done in this epoch
  double loss_sum = 0;                        // sum over examples of the loss
  std::map<std::string, double> metric_sums;  // per metric, its sum over examples ("acc": correct)
  int64_t examples = 0;
  double seconds = 0;          // training time so far (evaluation excluded)
  double data_seconds = 0;     // part of `seconds` spent preparing batches
  int64_t diverged_step = -1;  // first step (1-based) whose loss was not finite, or -1
  LossScaleState scaling;      // float16's loss scaling, when on

  double mean_loss() const { return examples ? loss_sum / double(examples) : 0.0; }
  /// The mean of each metric ("loss" included) over the examples so far.
  std::map<std::string, double> figures() const;
  /// The start of the following epoch: no step done yet, the loss scaling carried on.
  EpochState next_epoch() const {
    EpochState next;
    next.epoch = epoch + 1;
    next.scaling = scaling.next_epoch();
    return next;
  }
};

struct EpochResult {
  EpochState state;
  bool finished = false;  // false: stopped by stop_signal, or by a non-finite loss
};

/// Data parallelism for one rank: its group, and the gradient averaging after each backward.
struct DataParallel {
  distributed::Group& group;
  distributed::GradientSync sync;
};

/// Trains the rest of the epoch `from` describes (from its first step when from.steps is 0),
/// with loss scaling when from.scaling is on.
/// With `parallel`, this rank trains on its part of each step (options.rank/world), gradients
/// are averaged over the ranks, all ranks stop at the same step, and the sums returned are the
/// whole group's.
EpochResult train_epoch(nn::Network& network, torch::optim::Optimizer& optimizer,
                        const metrics::LossFn& loss, const data::Split& split,
                        const data::BatchOptions& options, const EpochState& from,
                        Progress& progress, DataParallel* parallel = nullptr);

/// The mean loss and metrics and the confusion matrix over `split`, in eval mode and without
/// autograd.
struct Evaluation {
  std::map<std::string, double> figures;  // by metric name: "loss", "acc", ...
  double seconds = 0;
  at::Tensor
      confusion;  // int64 [classes, classes] on the CPU: row = true label, column = predicted
};
/// With `group`, each rank evaluates its part of `split` and the results are the group's.
Evaluation evaluate(nn::Network& network, const metrics::LossFn& loss, const data::Split& split,
                    const data::BatchOptions& options, int64_t classes,
                    distributed::Group* group = nullptr);

/// The predicted class of each example of `images` (float, on the network's device).
at::Tensor predict(nn::Network& network, const at::Tensor& images);
/// The network's outputs (before softmax) in evaluation mode.
at::Tensor logits(nn::Network& network, const at::Tensor& images);

}  // namespace dlx::train
