#include "framework/nn/builder.h"
#include "framework/nn/precision.h"

namespace dlx::nn {

int64_t Network::parameters() const {
  int64_t total = 0;
  for (const auto& l : layers) total += l.group ? 0 : l.parameters;
  return total;
}

int64_t Network::macs() const {
  int64_t total = 0;
  for (const auto& l : layers) total += l.group ? 0 : l.macs;
  return total;
}

at::Tensor Network::forward(const at::Tensor& images) {
  at::Tensor out;
  {
    Autocast autocast(precision, images.device());
    out = body->forward(images);
  }
  return out.to(at::kFloat);  // the loss and the metrics in float32, as torch.autocast advises
}

const Shape& Network::output() const {
  for (auto l = layers.rbegin(); l != layers.rend(); ++l)
    if (l->depth == 0) return l->output;
  return input;
}

}  // namespace dlx::nn
