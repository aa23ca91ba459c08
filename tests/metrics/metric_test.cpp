// The metric registry: its full list, each metric's batch sum, and the names records use.
#include <doctest/doctest.h>

#include <ATen/ops/tensor.h>

#include "framework/metrics/metric.h"
#include "tests/helpers.h"

using namespace dlx;

TEST_CASE("the metric registry holds exactly the built-in metrics, and the criteria follow") {
  std::vector<std::string> names;
  for (const auto& m : metrics::builtin_metrics()) names.push_back(m.name);
  CHECK(names == std::vector<std::string>{"acc", "loss"});
  CHECK(metrics::criterion_names() ==
        std::vector<std::string>{"val_acc", "val_loss", "train_acc", "train_loss"});
}

TEST_CASE("accuracy sums the examples whose highest logit is their label") {
  const auto& acc = metrics::builtin_metrics()[0];
  REQUIRE(acc.name == "acc");
  at::Tensor logits = at::tensor({0.1f, 0.9f, 0.0f,   // predicts 1
                                  2.0f, 1.0f, 0.5f,   // predicts 0
                                  0.0f, 0.2f, 0.3f},  // predicts 2
                                 at::kFloat)
                          .reshape({3, 3});
  at::Tensor labels = at::tensor({1, 1, 2}, at::kLong);
  CHECK(acc.batch_sum(logits, labels).item<double>() == 2);
  CHECK(acc.higher_is_better);
  CHECK_FALSE(metrics::builtin_metrics()[1].higher_is_better);
}

TEST_CASE("a figure's name is its split and its metric") {
  const auto m = metrics::parse_metric("test_acc");
  REQUIRE(m);
  CHECK(m->split == "test");
  CHECK(m->metric->name == "acc");
  CHECK(m->name() == "test_acc");
  CHECK(metrics::parse_metric("val_loss")->needs_validation());
  CHECK_FALSE(metrics::parse_metric("train_loss")->needs_validation());
  CHECK_FALSE(metrics::parse_metric("val_top5"));
  CHECK_FALSE(metrics::parse_metric("acc"));
}

TEST_CASE("a criterion is never a test figure, and a wrong one names the known ones") {
  CHECK(metrics::criterion("val_loss", "train.early_stopping.metric", {}).name() == "val_loss");
  CHECK(testing::config_error([] {
          metrics::criterion("test_acc", "train.early_stopping.metric", {"e.yaml", 3, 11});
        }) ==
        "e.yaml:3:11: error: train.early_stopping.metric: test_acc is measured on the test "
        "split, which must not choose: use val_acc (with data.val_split) or train_acc");
  CHECK(testing::config_error([] {
          metrics::criterion("val_accc", "sweep.halving.metric", {"e.yaml", 5, 12});
        }) ==
        "e.yaml:5:12: error: sweep.halving.metric: expected one of val_acc, val_loss, "
        "train_acc, train_loss, found 'val_accc'; did you mean 'val_acc'?");
}
