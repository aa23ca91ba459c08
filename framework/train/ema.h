// An exponential moving average of the weights (train.ema), as torchvision's reference
// ExponentialMovingAverage (an AveragedModel with use_buffers=True): every `steps` optimizer
// updates, each floating-point parameter and buffer (batch norm's running statistics too, so the
// average is evaluated with statistics of its own weights) becomes
//   average = decay * average + (1 - decay) * live,
// the first update (and every update during the schedule's warm-up epochs, after which
// torchvision resets its count) copies the live weights, and integer buffers (batch norm's
// num_batches_tracked) are copied. Whether the next update copies follows from the position in the
// run alone, so a resumed run needs only the averaged weights (checkpoint_ema.pt).
#pragma once

#include <filesystem>
#include <map>
#include <utility>
#include <vector>

#include "framework/config/experiment.h"
#include "framework/nn/builder.h"

namespace dlx::train {

/// torchvision's adjusted decay: 1 - min(1, (1 - decay) * ranks * batch * steps / epochs), with
/// spec.adjust; the spec's decay without it.
double ema_decay(const config::EmaSpec& spec, int64_t batch_size, int64_t ranks, int64_t epochs);

class Ema {
 public:
  /// An average of `network`'s weights, to be updated with `decay`. Starts as a copy.
  Ema(const nn::Network& network, double decay);

  /// One update from the live `network`; `copy` makes the average the live weights.
  void update(const nn::Network& network, bool copy);

  /// Swaps the averaged weights and `network`'s: call twice to evaluate or save the average.
  void swap(nn::Network& network);

  /// The averaged weights under their checkpoint keys.
  const std::vector<std::pair<std::string, at::Tensor>>& weights() const { return average_; }
  /// Replaces the averaged weights (a resumed run's checkpoint_ema.pt); shapes must match.
  void set(const std::map<std::string, at::Tensor>& weights);

 private:
  double decay_;
  std::vector<std::pair<std::string, at::Tensor>> average_;
};

inline std::filesystem::path ema_weights_file(const std::filesystem::path& folder) {
  return folder / "checkpoint_ema.pt";
}

}  // namespace dlx::train
