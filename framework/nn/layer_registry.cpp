#include "framework/nn/layer_registry.h"

namespace dlx::nn {

ConfigError shape_error(const BuildInput& in, const std::string& problem, const Shape& would_be) {
  std::string message = in.name + ": " + problem + " (input " + format_shape(in.shape);
  if (!would_be.empty()) message += ", output would be " + format_shape(would_be);
  return ConfigError::plain(in.where, in.path, message + ")");
}

void LayerRegistry::add(LayerType type) {
  index_[type.type] = types_.size();
  types_.push_back(std::move(type));
}

const LayerType* LayerRegistry::find(const std::string& type) const {
  auto it = index_.find(type);
  return it == index_.end() ? nullptr : &types_[it->second];
}

std::vector<std::string> LayerRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& t : types_) out.push_back(t.type);
  return out;
}

const LayerRegistry& builtin_layers() {
  static const LayerRegistry registry = [] {
    LayerRegistry r;
    register_builtin_layers(r);
    return r;
  }();
  return registry;
}

}  // namespace dlx::nn
