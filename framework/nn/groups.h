// The modules behind the graph constructs of a `layers:` list (framework/nn/builder.h): a group
// (`sequential`, a block, a branch) and `parallel`. In a header so that whatever walks a built
// network (the ONNX export) can tell them from layers.
#pragma once

#include <torch/nn/modules/container/sequential.h>

#include <vector>

namespace dlx::nn {

// A Sequential that another Sequential can hold: AnyModule needs a forward() that is not a
// template. Its children keep their names, so checkpoint keys are the nested path (b2.conv0).
class GroupImpl : public torch::nn::SequentialImpl {
 public:
  using SequentialImpl::SequentialImpl;
  torch::Tensor forward(torch::Tensor x) { return SequentialImpl::forward(x); }
};
TORCH_MODULE(Group);

enum class Merge { kAdd, kConcat, kMul };

// Branches applied to the same input, their outputs added, concatenated along channels or
// multiplied with broadcasting (a gate: squeeze-and-excitation). An empty branch is the identity
// (ResNet's shortcut, DenseNet's input, the gated input).
class ParallelImpl : public torch::nn::Module {
 public:
  ParallelImpl(std::vector<Group> branches, Merge merge)
      : branches_(std::move(branches)), merge_(merge) {
    for (size_t i = 0; i < branches_.size(); ++i)
      register_module("branch" + std::to_string(i), branches_[i]);
  }
  torch::Tensor forward(torch::Tensor x) {
    std::vector<torch::Tensor> outs;
    for (auto& b : branches_) outs.push_back(b->is_empty() ? x : b->forward(x));
    if (merge_ == Merge::kConcat) return torch::cat(outs, 1);
    torch::Tensor out = outs[0];
    for (size_t i = 1; i < outs.size(); ++i)
      out = merge_ == Merge::kAdd ? out + outs[i] : out * outs[i];
    return out;
  }
  const std::vector<Group>& branches() const { return branches_; }
  Merge merge() const { return merge_; }
  bool concat() const { return merge_ == Merge::kConcat; }

 private:
  std::vector<Group> branches_;
  Merge merge_;
};
TORCH_MODULE(Parallel);

}  // namespace dlx::nn
