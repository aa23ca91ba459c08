#include "framework/train/ema.h"

#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>

#include "framework/core/error.h"

namespace dlx::train {

double ema_decay(const config::EmaSpec& spec, int64_t batch_size, int64_t ranks, int64_t epochs) {
  if (!spec.adjust) return spec.decay;
  const double adjust =
      double(ranks * batch_size * spec.steps) / double(std::max<int64_t>(epochs, 1));
  return 1.0 - std::min(1.0, (1.0 - spec.decay) * adjust);
}

Ema::Ema(const nn::Network& network, double decay) : decay_(decay) {
  torch::NoGradGuard no_grad;
  for (const auto& [name, t] : network.state()) average_.emplace_back(name, t.detach().clone());
}

void Ema::update(const nn::Network& network, bool copy) {
  torch::NoGradGuard no_grad;
  const auto live = network.state();
  for (size_t i = 0; i < live.size(); ++i) {
    at::Tensor& avg = average_[i].second;
    const at::Tensor& now = live[i].second;
    if (copy || !at::isFloatingType(avg.scalar_type()))
      avg.copy_(now);
    else
      avg.mul_(decay_).add_(now.detach() * (1.0 - decay_));  // ema_avg, in its order
  }
}

void Ema::swap(nn::Network& network) {
  torch::NoGradGuard no_grad;
  auto live = network.state();
  for (size_t i = 0; i < live.size(); ++i) {
    at::Tensor kept = live[i].second.detach().clone();
    live[i].second.copy_(average_[i].second);
    average_[i].second.copy_(kept);
  }
}

void Ema::set(const std::map<std::string, at::Tensor>& weights) {
  torch::NoGradGuard no_grad;
  for (auto& [name, avg] : average_) {
    auto it = weights.find(name);
    if (it == weights.end() || !it->second.sizes().equals(avg.sizes()))
      throw RuntimeError("checkpoint_ema.pt lacks " + name + " or has another shape");
    avg.copy_(it->second);
  }
}

}  // namespace dlx::train
