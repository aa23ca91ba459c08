// The table of layer types a model file may use.
//
// How to add a layer:
//   1. In layers.cpp, write an args struct whose visit() declares its keys (defaults as in
//      PyTorch), and a build function that checks the input shape, infers the output shape and
//      multiply-adds, and returns the LibTorch module.
//   2. Add one line for it in register_builtin_layers() (layers.cpp).
//   3. Add its name to the registry test's list (tests/nn/layer_registry_test.cpp).
//   4. Write its ONNX form in framework/export/layers.cpp (tests/export/onnx_test.cpp checks that
//      every type has one, and add it to that test's every-layer model).
// There is no self-registration: the table is filled by one call that main and the tests make.
#pragma once

#include <torch/nn/modules/container/any.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "framework/config/reader.h"
#include "framework/nn/shape.h"

namespace dlx::nn {

/// A layer whose module holds one parameter under this name saves it under the layer's own key,
/// as a bare nn.Parameter of the enclosing PyTorch module (ViT's class_token, ConvNeXt's
/// layer_scale).
inline constexpr const char* kBareParameter = "bare";

/// What a layer's build function returns.
struct BuiltLayer {
  torch::nn::AnyModule module;
  Shape output;
  int64_t macs = 0;  // multiply-adds for one example
};

/// What a build function may need besides its arguments.
struct BuildInput {
  const Shape& shape;       // the input's shape, batch excluded
  const std::string& name;  // "conv0", for messages
  const std::string& path;  // "model.layers[0]"
  const Location& where;    // of the layer in its file
};

/// A layer's shape does not fit its input: names the layer and both shapes.
ConfigError shape_error(const BuildInput& in, const std::string& problem,
                        const Shape& would_be = {});

struct LayerType {
  std::string type;     // as written in YAML: "conv2d"
  std::string prefix;   // naming counter, as in the d2l chapter's printout: "conv" -> conv0, conv1
  std::string summary;  // one line for `dlx layers`
  /// Reads the arguments (strictly) and builds the module for an input of shape `in.shape`.
  std::function<BuiltLayer(config::Reader& args, const BuildInput& in)> build;
  /// The arguments with their defaults and comments.
  std::function<std::vector<config::KeyDoc>()> keys;
};

class LayerRegistry {
 public:
  void add(LayerType type);
  /// The layer type, or nullptr.
  const LayerType* find(const std::string& type) const;
  /// Registered type names, in registration order.
  std::vector<std::string> names() const;
  const std::vector<LayerType>& types() const { return types_; }

 private:
  std::vector<LayerType> types_;
  std::map<std::string, size_t> index_;
};

/// Fills `registry` with every built-in layer.
void register_builtin_layers(LayerRegistry& registry);

/// The registry with the built-in layers, built once.
const LayerRegistry& builtin_layers();

}  // namespace dlx::nn
