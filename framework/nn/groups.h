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

// Branches applied to the same input, their outputs added or concatenated along channels. An
// empty branch is the identity (ResNet's shortcut, DenseNet's input).
class ParallelImpl : public torch::nn::Module {
 public:
  ParallelImpl(std::vector<Group> branches, bool concat)
      : branches_(std::move(branches)), concat_(concat) {
    for (size_t i = 0; i < branches_.size(); ++i)
      register_module("branch" + std::to_string(i), branches_[i]);
  }
  torch::Tensor forward(torch::Tensor x) {
    std::vector<torch::Tensor> outs;
    for (auto& b : branches_) outs.push_back(b->is_empty() ? x : b->forward(x));
    if (concat_) return torch::cat(outs, 1);
    torch::Tensor sum = outs[0];
    for (size_t i = 1; i < outs.size(); ++i) sum = sum + outs[i];
    return sum;
  }
  const std::vector<Group>& branches() const { return branches_; }
  bool concat() const { return concat_; }

 private:
  std::vector<Group> branches_;
  bool concat_;
};
TORCH_MODULE(Parallel);

}  // namespace dlx::nn
