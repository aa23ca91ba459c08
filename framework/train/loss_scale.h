// Dynamic loss scaling for float16 training, as PyTorch's GradScaler does it. float16's smallest
// normal number is 6.1e-5, so small gradients of an fp16 forward underflow to zero: the loss is
// multiplied by a large power of two before backward and the gradients divided by it before the
// optimizer's step. A step whose gradients overflowed (a non-finite value) is skipped and the scale
// halved; after `growth_interval` good steps in a row it is doubled. Scaling by a power of two is
// exact, so a step without overflow is the step an unscaled run takes, bit for bit.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/optim/optimizer.h>

#include <functional>
#include <vector>

namespace dlx::train {

/// Where the scaling stands; kept with an epoch's state so that a resume continues it exactly.
struct LossScaleState {
  double scale = 0;           // 0: no loss scaling
  int64_t good_steps = 0;     // finite steps since the scale last changed
  int64_t skipped_steps = 0;  // in this epoch: steps whose gradients were not finite

  bool on() const { return scale > 0; }
  /// The state a new epoch starts from: the same scale and streak, no steps skipped yet.
  LossScaleState next_epoch() const { return {scale, good_steps, 0}; }
};

/// PyTorch's GradScaler defaults.
struct LossScaleOptions {
  double init_scale = 65536.0;  // 2^16
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

class LossScaler {
 public:
  /// Continues from `state`, whose scale must be on (LossScaleOptions::init_scale to start).
  LossScaler(const LossScaleState& state, std::vector<at::Tensor> parameters,
             LossScaleOptions options = {});

  /// The loss to call backward() on: `loss` times the scale.
  at::Tensor scaled(const at::Tensor& loss) const;
  /// Divides the gradients by the scale, steps the optimizer unless one of them is not finite,
  /// and updates the scale. Returns whether the optimizer stepped. Reads one flag back from the
  /// device, as GradScaler does.
  /// `before_step` runs on the unscaled gradients just before a step (gradient clipping).
  bool step(torch::optim::Optimizer& optimizer, const std::function<void()>& before_step = {});

  const LossScaleState& state() const { return state_; }

 private:
  LossScaleState state_;
  std::vector<at::Tensor> parameters_;
  LossScaleOptions options_;
};

}  // namespace dlx::train
