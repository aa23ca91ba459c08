// What the ONNX export's parts share: a writer that adds nodes and weights to an ONNX graph
// (ONNX's own protobuf classes, from Debian's libonnx-dev), and the table of layer exporters.
#pragma once

#include <ATen/core/Tensor.h>
#include <onnx/onnx_pb.h>
#include <torch/nn/module.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "framework/nn/shape.h"

namespace dlx::onnx_export {

/// A node's attribute: ints, one int, one float, as the operator's schema wants it.
onnx::AttributeProto ints(const std::string& name, const std::vector<int64_t>& values);
onnx::AttributeProto integer(const std::string& name, int64_t value);
onnx::AttributeProto real(const std::string& name, float value);

class GraphWriter {
 public:
  explicit GraphWriter(onnx::GraphProto& graph) : graph_(graph) {}

  /// Adds a node `op` that reads `inputs`; its one output and the node are named `name`, which
  /// is returned (names are layer paths, unique as the checkpoint's keys are).
  std::string node(const std::string& op, const std::string& name,
                   const std::vector<std::string>& inputs,
                   const std::vector<onnx::AttributeProto>& attributes = {});
  /// Adds `tensor` (any float tensor; stored as contiguous float32) as the initializer `name`.
  std::string weight(const std::string& name, const at::Tensor& tensor);

 private:
  onnx::GraphProto& graph_;
};

/// One layer as the export sees it: its module (with the weights to write), where it is in the
/// network, and the tensor it reads.
struct LayerNode {
  const torch::nn::Module& module;
  const std::string& path;  // "b2.residual0.conv0": node names and weight-name prefix
  const std::string& type;  // "conv2d", as the layer registry names it
  const nn::Shape& input;   // batch excluded
  const nn::Shape& output;  // batch excluded
  std::string x;            // the name of the tensor it reads
};

/// Writes a layer's nodes and returns the name of its output tensor. A layer whose settings ONNX
/// cannot express throws an Unexportable.
using LayerExporter = std::function<std::string(GraphWriter&, const LayerNode&)>;

struct Unexportable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Every layer type of the registry that has an ONNX form, by type name.
const std::map<std::string, LayerExporter>& layer_exporters();

}  // namespace dlx::onnx_export
