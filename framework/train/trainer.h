// d2l's training loop: one epoch of steps (forward, loss, backward, optimizer step), and
// evaluation under inference mode. The loss and every registered metric (framework/metrics)
// accumulate on the device and are read at the end of the epoch (and when the progress bar
// redraws), so no step waits on a host copy.
// An epoch can stop between steps and be continued later from its EpochState, exactly.
#pragma once

#include <torch/optim/optimizer.h>

#include <atomic>
#include <functional>
#include <map>
#include <string>

#include "framework/data/batches.h"
#include "framework/distributed/group.h"
#include "framework/metrics/loss.h"
#include "framework/metrics/metric.h"
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

class Ema;

/// What a training step does besides forward, loss, backward and the optimizer's step. The
/// defaults do nothing more and record accuracy.
struct StepRecipe {
  std::vector<const metrics::MetricEntry*> metrics{metrics::find_metric("acc")};
  config::MixSpec mix;                   // mixup and cutmix of each batch (targets become soft)
  int64_t classes = 0;                   // for mixed targets
  uint64_t seed = 0;                     // mixing's draws
  int64_t accumulate = 1;                // batches per optimizer update
  double clip_norm = 0, clip_value = 0;  // of the gradients before each update; 0 = off
  /// Called before each optimizer update with the epochs done (fractional) and the updates an
  /// epoch has: per-step schedules.
  std::function<void(double epochs_done, int64_t updates_per_epoch)> before_update;
  Ema* ema = nullptr;  // updated after updates 0, ema_every, 2 ema_every, ... of the epoch
  int64_t ema_every = 1;
  int64_t ema_copy_through = -1;  // the epoch's EMA updates up to this index copy the weights
};

/// torch.nn.utils.clip_grad_value_ (with max_value > 0), then clip_grad_norm_ (with max_norm > 0:
/// the gradients scaled by max_norm / (total 2-norm + 1e-6) when that is below 1), without
/// reading the norm back to the host.
void clip_gradients(const std::vector<at::Tensor>& parameters, double max_norm, double max_value);

/// The optimizer updates of an epoch of `batches` batches, `accumulate` batches each (the last
/// one may have fewer).
inline int64_t updates_per_epoch(int64_t batches, int64_t accumulate) {
  return (batches + accumulate - 1) / accumulate;
}

/// Trains the rest of the epoch `from` describes (from its first step when from.steps is 0),
/// with loss scaling when from.scaling is on.
/// With `parallel`, this rank trains on its part of each step (options.rank/world), gradients
/// are averaged over the ranks, all ranks stop at the same step, and the sums returned are the
/// whole group's.
/// With accumulation, the epoch stops (on a signal) only between updates.
EpochResult train_epoch(nn::Network& network, torch::optim::Optimizer& optimizer,
                        const metrics::LossFn& loss, const data::Split& split,
                        const data::BatchOptions& options, const EpochState& from,
                        Progress& progress, const StepRecipe& recipe = {},
                        DataParallel* parallel = nullptr);

/// The mean loss and metrics and the confusion matrix over `split`, in eval mode and without
/// autograd.
struct Evaluation {
  std::map<std::string, double> figures;  // by metric name: "loss", "acc", ...
  double seconds = 0;
  at::Tensor
      confusion;  // int64 [classes, classes] on the CPU: row = true label, column = predicted
};
/// With `group`, each rank evaluates its part of `split` and the results are the group's.
/// `measured`: the metrics recorded besides the loss (acc first); those of the confusion matrix
/// are computed from it.
Evaluation evaluate(nn::Network& network, const metrics::LossFn& loss, const data::Split& split,
                    const data::BatchOptions& options, int64_t classes,
                    distributed::Group* group = nullptr,
                    const std::vector<const metrics::MetricEntry*>& measured = {
                        metrics::find_metric("acc")});

/// The predicted class of each example of `images` (float, on the network's device).
at::Tensor predict(nn::Network& network, const at::Tensor& images);
/// The network's outputs (before softmax) in evaluation mode.
at::Tensor logits(nn::Network& network, const at::Tensor& images);

}  // namespace dlx::train
