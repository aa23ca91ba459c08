#include "framework/nn/builder.h"
#include "framework/nn/precision.h"

#include <map>

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

std::vector<std::pair<std::string, at::Tensor>> Network::state() const {
  std::map<std::string, std::shared_ptr<torch::nn::Module>> modules;
  for (const auto& item : body->named_modules()) modules[item.key()] = item.value();
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& l : layers) {
    if (l.group) continue;
    const auto& module = *modules.at(l.module);
    auto add = [&](const std::string& name, const at::Tensor& t) {
      out.emplace_back(name == kBareParameter ? l.name : l.name + "." + name, t);
    };
    for (const auto& p : module.named_parameters(/*recurse=*/true)) add(p.key(), p.value());
    for (const auto& b : module.named_buffers(/*recurse=*/true)) add(b.key(), b.value());
  }
  return out;
}

const Shape& Network::output() const {
  for (auto l = layers.rbegin(); l != layers.rend(); ++l)
    if (l->depth == 0) return l->output;
  return input;
}

}  // namespace dlx::nn
