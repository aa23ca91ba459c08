// The metric registry: its full list, each metric's batch sum, and the names records use.
#include <doctest/doctest.h>

#include <ATen/ops/tensor.h>

#include "framework/metrics/metric.h"
#include "tests/helpers.h"

using namespace dlx;

TEST_CASE("the metric registry holds exactly the built-in metrics, and the criteria follow") {
  std::vector<std::string> names;
  for (const auto& m : metrics::builtin_metrics()) names.push_back(m.name);
  CHECK(names == std::vector<std::string>{"acc", "loss", "macro_f1"});
  CHECK(metrics::criterion_names() ==
        std::vector<std::string>{"val_acc", "val_loss", "val_macro_f1", "val_topK_acc", "train_acc",
                                 "train_loss", "train_topK_acc"});
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
        "val_macro_f1, val_topK_acc, train_acc, train_loss, train_topK_acc, found 'val_accc'; "
        "did you mean 'val_acc'?");
  CHECK(metrics::criterion("val_top5_acc", "train.early_stopping.metric", {}).name() ==
        "val_top5_acc");
  CHECK(testing::config_error([] {
          metrics::criterion("train_macro_f1", "train.early_stopping.metric", {"e.yaml", 2, 3});
        }) ==
        "e.yaml:2:3: error: train.early_stopping.metric: train_macro_f1 is measured on the "
        "evaluation splits only: use val_macro_f1 (with data.val_split)");
}

TEST_CASE("topK_acc counts the examples whose label is among their K highest logits") {
  const metrics::MetricEntry* top2 = metrics::find_metric("top2_acc");
  REQUIRE(top2);
  CHECK(top2->k == 2);
  CHECK(metrics::find_metric("top2_acc") == top2);          // made once
  at::Tensor logits = at::tensor({0.1f, 0.9f, 0.5f, 0.0f,   // order 1, 2, 0, 3
                                  2.0f, 1.0f, 0.5f, 3.0f,   // order 3, 0, 1, 2
                                  0.0f, 0.2f, 0.3f, 0.1f},  // order 2, 1, 3, 0
                                 at::kFloat)
                          .reshape({3, 4});
  at::Tensor labels = at::tensor({2, 1, 0}, at::kLong);
  CHECK(top2->batch_sum(logits, labels).item<double>() == 1);
  CHECK(metrics::find_metric("top3_acc")->batch_sum(logits, labels).item<double>() == 2);
  CHECK(metrics::find_metric("top4_acc")->batch_sum(logits, labels).item<double>() == 3);
  for (const char* wrong : {"top0_acc", "top_acc", "top05_acc", "topx_acc", "top5", "top5_acc_"})
    CHECK_FALSE(metrics::find_metric(wrong));
  CHECK(metrics::parse_metric("val_top5_acc")->metric->name == "top5_acc");
}

TEST_CASE("per-class precision, recall, F1 and macro-F1 of a confusion matrix") {
  // Rows true, columns predicted. Class 2 is never predicted: precision 0 (scikit-learn's
  // zero_division=0), F1 0.
  const at::Tensor confusion = at::tensor({5, 1, 0,   //
                                           2, 3, 0,   //
                                           1, 1, 0},  //
                                          at::kLong)
                                   .reshape({3, 3});
  const metrics::ClassScores s = metrics::class_scores(confusion);
  CHECK(s.precision[0] == doctest::Approx(5.0 / 8));
  CHECK(s.precision[1] == doctest::Approx(3.0 / 5));
  CHECK(s.precision[2] == 0);
  CHECK(s.recall[0] == doctest::Approx(5.0 / 6));
  CHECK(s.recall[1] == doctest::Approx(3.0 / 5));
  CHECK(s.recall[2] == 0);
  const double f0 = 2 * (5.0 / 8) * (5.0 / 6) / (5.0 / 8 + 5.0 / 6), f1 = 0.6;
  CHECK(s.f1[0] == doctest::Approx(f0));
  CHECK(s.f1[1] == doctest::Approx(f1));
  CHECK(s.macro_f1 == doctest::Approx((f0 + f1) / 3));
  CHECK(metrics::find_metric("macro_f1")->of_confusion(confusion) == doctest::Approx(s.macro_f1));
}

TEST_CASE("a run records acc and the metrics named, once; top7_acc on 5 classes is one line") {
  const auto list = metrics::recorded_metrics({"top3_acc", "macro_f1", "acc", "top3_acc"}, 5,
                                              "train.metrics", {});
  std::vector<std::string> names;
  for (const auto* m : list) names.push_back(m->name);
  CHECK(names == std::vector<std::string>{"acc", "top3_acc", "macro_f1"});
  CHECK(testing::config_error([] {
          metrics::recorded_metrics({"top7_acc"}, 5, "train.metrics", {"e.yaml", 4, 12});
        }) ==
        "e.yaml:4:12: error: train.metrics: expected topK_acc with K at most the 5 "
        "classes, found 'top7_acc'");
  CHECK(testing::config_error([] {
          metrics::recorded_metrics({"top5_accc"}, 5, "train.metrics", {"e.yaml", 4, 12});
        })
            .find("expected metric names: acc, macro_f1, topK_acc (top5_acc), found "
                  "'top5_accc'; did you mean 'top5_acc'?") != std::string::npos);
}
