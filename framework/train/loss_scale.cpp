#include "framework/train/loss_scale.h"

#include <ATen/ops/all.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/stack.h>

namespace dlx::train {

LossScaler::LossScaler(const LossScaleState& state, std::vector<at::Tensor> parameters,
                       LossScaleOptions options)
    : state_(state), parameters_(std::move(parameters)), options_(options) {}

at::Tensor LossScaler::scaled(const at::Tensor& loss) const {
  return loss * state_.scale;
}

bool LossScaler::step(torch::optim::Optimizer& optimizer,
                      const std::function<void()>& before_step) {
  std::vector<at::Tensor> finite;
  const double inverse = 1.0 / state_.scale;
  for (auto& p : parameters_) {
    at::Tensor& grad = p.mutable_grad();
    if (!grad.defined()) continue;
    grad.mul_(inverse);
    finite.push_back(at::isfinite(grad).all());
  }
  const bool stepping = finite.empty() || at::stack(finite).all().item<bool>();
  if (stepping) {
    if (before_step) before_step();
    optimizer.step();
    if (++state_.good_steps == options_.growth_interval) {
      state_.scale *= options_.growth_factor;
      state_.good_steps = 0;
    }
  } else {
    ++state_.skipped_steps;
    state_.scale *= options_.backoff_factor;
    state_.good_steps = 0;
  }
  return stepping;
}

}  // namespace dlx::train
