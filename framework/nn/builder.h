// Builds a network from a model spec: looks each layer up in the registry, names it as the d2l
// chapter does (conv0, pool0, dense0, ...), and carries the shape through the list so that no
// YAML states an input size. Every shape problem is found here, before any training.
// Besides layers, a list may hold groups (docs/configuration.md, "Models as graphs"):
// `sequential: {name, layers}`, `parallel: {merge: add | concat, branches: [[...], ...]}`,
// `repeat: {times, layers, index}` and the model's own `blocks:`, used like layer types (blocks.h).
// Checkpoint keys are the path of names: a `numbered` group names its children by position (as
// nn.Sequential), an `inline` parallel adds no name of its own (its branches' layers are named
// beside it, as children of one PyTorch module whose forward joins them).
// Network's own methods are in network.cpp, the `dlx shapes` table in summary.cpp; an
// experiment's network (its data's shape and classes) is built by framework/experiment.
#pragma once

#include <torch/nn/modules/container/sequential.h>

#include "framework/config/experiment.h"
#include "framework/nn/layer_registry.h"

namespace dlx::nn {

struct LayerSummary {
  std::string name;  // "conv0", or "b2.residual0.conv0" inside groups: the checkpoint's key prefix
  std::string module;  // its path among the modules: differs from `name` inside inline parallels
  std::string type;    // "conv2d", or "sequential", "parallel" or a block's name for a group
  Shape output;        // batch excluded
  int64_t parameters = 0;
  int64_t macs = 0;    // multiply-adds for one example
  int depth = 0;       // 0 for the model's own entries
  bool group = false;  // a group's row sums the rows inside it, which follow it
};

struct Network {
  torch::nn::Sequential body;
  Shape input;
  std::vector<LayerSummary> layers;
  config::PrecisionKind precision = config::PrecisionKind::kFp32;  // set by the run

  /// The logits for `images`, as float32, the forward pass run at `precision`.
  at::Tensor forward(const at::Tensor& images);

  int64_t parameters() const;
  int64_t macs() const;
  /// The output of the model's last entry.
  const Shape& output() const;
  /// Every parameter and buffer under its checkpoint key (PyTorch's state_dict() names: a
  /// layer's name path, a bare parameter's under the layer's own name).
  std::vector<std::pair<std::string, at::Tensor>> state() const;
};

/// Builds `spec` for examples of shape `input`. Unknown layers, bad arguments and shapes that
/// cannot work are ConfigErrors naming the layer.
Network build_network(const config::ModelSpec& spec, const Shape& input,
                      const LayerRegistry& registry = builtin_layers());

/// What a `layers:` list may hold besides layer types (groups, branches, repeats, the model's
/// blocks), for `dlx layers`: the keys the builder reads for each.
struct ConstructDoc {
  std::string type;     // as written in YAML: "parallel"; "blocks" for a block's definition
  std::string summary;  // one line
  std::vector<config::KeyDoc> keys;
};
const std::vector<ConstructDoc>& graph_constructs();

/// The d2l chapter's table (`conv0 output shape:\t (1, 96, 54, 54)`, one line per layer), then a
/// table of parameters, multiply-adds and activation memory per layer, and the totals.
std::string shapes_table(const Network& network);

}  // namespace dlx::nn
