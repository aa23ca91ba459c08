// The loss registry: its full list, each loss against PyTorch's definition, and a wrong name.
#include <doctest/doctest.h>

#include <ATen/ops/allclose.h>
#include <ATen/ops/full.h>
#include <ATen/ops/log.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/sigmoid.h>
#include <ATen/ops/tensor.h>

#include "framework/metrics/loss.h"
#include "tests/helpers.h"

using namespace dlx;

TEST_CASE("the loss registry holds exactly the built-in losses, in order") {
  std::vector<std::string> names;
  for (const auto& l : metrics::builtin_losses()) names.push_back(l.name);
  CHECK(names == std::vector<std::string>{"cross_entropy", "binary_cross_entropy"});
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

TEST_CASE(
    "label smoothing: (1 - s) of the label's negative log-likelihood, s of the classes' mean") {
  at::manual_seed(1);
  at::Tensor logits = at::randn({6, 5});
  at::Tensor labels = at::tensor({0, 4, 1, 1, 2, 3}, at::kLong);
  const at::Tensor log_p = at::log_softmax(logits, 1);
  const double s = 0.1;
  const at::Tensor by_hand =
      ((1 - s) * -log_p.gather(1, labels.unsqueeze(1)).squeeze(1) - s * log_p.mean(1)).mean();
  config::LossSpec spec;
  spec.label_smoothing = s;
  CHECK(at::allclose(metrics::make_loss(spec)(logits, labels), by_hand, 1e-6, 1e-7));
}

TEST_CASE("binary_cross_entropy: each class's logistic loss on smoothed one-hot targets (timm)") {
  at::manual_seed(2);
  at::Tensor logits = at::randn({4, 3});
  at::Tensor labels = at::tensor({2, 0, 1, 2}, at::kLong);
  config::LossSpec spec;
  spec.type = "binary_cross_entropy";
  spec.label_smoothing = 0.3;
  // timm: off = 0.3 / 3 = 0.1 everywhere, on = 1 - 0.3 + 0.1 = 0.8 at the label.
  at::Tensor targets = at::full({4, 3}, 0.1);
  for (int64_t i = 0; i < 4; ++i) targets[i][labels[i].item<int64_t>()] = 0.8;
  const at::Tensor p = at::sigmoid(logits);
  const at::Tensor by_hand = -(targets * at::log(p) + (1 - targets) * at::log(1 - p)).mean();
  CHECK(at::allclose(metrics::make_loss(spec)(logits, labels), by_hand, 1e-5, 1e-6));
}

TEST_CASE("reduction: sum has the gradient of the batch's sum and the value of its mean") {
  at::manual_seed(3);
  at::Tensor labels = at::tensor({1, 0, 2, 2, 1}, at::kLong);
  auto value_and_grad = [&](const std::string& reduction) {
    at::manual_seed(3);  // the same logits for both
    at::Tensor logits = at::randn({5, 3}).set_requires_grad(true);
    config::LossSpec spec;
    spec.reduction = reduction;
    at::Tensor loss = metrics::make_loss(spec)(logits, labels);
    loss.backward();
    return std::make_pair(loss.item<double>(), logits.grad());
  };
  const auto [mean, mean_grad] = value_and_grad("mean");
  const auto [sum, sum_grad] = value_and_grad("sum");
  CHECK(sum == doctest::Approx(mean).epsilon(1e-6));
  CHECK(at::allclose(sum_grad, mean_grad * 5, 1e-5, 1e-7));
}

TEST_CASE("an unknown loss is one line naming the known ones") {
  config::LossSpec spec;
  spec.type = "crossentropy";
  CHECK(testing::config_error([&] {
          metrics::make_loss(spec, {"e.yaml", 9, 11});
        }) ==
        "e.yaml:9:11: error: train.loss.type: expected one of cross_entropy, "
        "binary_cross_entropy, found "
        "'crossentropy'; did you mean 'cross_entropy'?");
}
