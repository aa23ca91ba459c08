// The loss registry: its full list, each loss against PyTorch's definition, and a wrong name.
#include <doctest/doctest.h>

#include <ATen/ops/allclose.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/tensor.h>

#include "framework/metrics/loss.h"
#include "tests/helpers.h"

using namespace dlx;

TEST_CASE("the loss registry holds exactly the built-in losses, in order") {
  std::vector<std::string> names;
  for (const auto& l : metrics::builtin_losses()) names.push_back(l.name);
  CHECK(names == std::vector<std::string>{"cross_entropy"});
}

TEST_CASE(
    "cross_entropy is the mean negative log-likelihood of the softmax, as PyTorch defines it") {
  at::manual_seed(0);
  at::Tensor logits = at::randn({5, 4});
  at::Tensor labels = at::tensor({0, 3, 1, 1, 2}, at::kLong);
  at::Tensor by_hand = -at::log_softmax(logits, 1).gather(1, labels.unsqueeze(1)).mean();
  const metrics::LossFn loss = metrics::make_loss(config::LossSpec{});
  CHECK(at::allclose(loss(logits, labels), by_hand, 1e-6, 1e-7));
}

TEST_CASE("an unknown loss is one line naming the known ones") {
  config::LossSpec spec;
  spec.type = "crossentropy";
  CHECK(testing::config_error([&] {
          metrics::make_loss(spec, {"e.yaml", 9, 11});
        }) ==
        "e.yaml:9:11: error: train.loss.type: expected one of cross_entropy, found "
        "'crossentropy'; did you mean 'cross_entropy'?");
}
