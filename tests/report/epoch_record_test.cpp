// An epoch's record through JSON and back, as metrics.jsonl and a resume's read_metrics carry it.
#include <doctest/doctest.h>

#include "framework/report/report.h"

using namespace dlx;

TEST_CASE("an epoch record keeps its loss-scaling figures through JSON, and has none without") {
  report::EpochRecord r;
  r.epoch = 3, r.train_loss = 0.5, r.test_acc = 0.75, r.lr = 0.01, r.seconds = 2;
  CHECK_FALSE(r.to_json().contains("loss_scale"));
  CHECK_FALSE(r.to_json().contains("skipped_steps"));
  CHECK_FALSE(report::EpochRecord::from_json(r.to_json()).loss_scale);
  r.loss_scale = 32768.0, r.skipped_steps = 2;
  const report::EpochRecord back = report::EpochRecord::from_json(r.to_json());
  REQUIRE(back.loss_scale);
  CHECK(*back.loss_scale == 32768.0);
  REQUIRE(back.skipped_steps);
  CHECK(*back.skipped_steps == 2);
  CHECK(back.epoch == 3);
  CHECK(back.test_acc == 0.75);
}

TEST_CASE("an epoch record's figures are read and written by name, its fields in one order") {
  report::EpochRecord r;
  r.set("train_loss", 0.5);
  r.set("val_acc", 0.8);
  r.set("val_top5_acc", 0.97);  // a metric without a field of its own
  CHECK(r.train_loss == 0.5);
  CHECK_FALSE(r.train_acc);
  REQUIRE(r.val_acc);
  CHECK(*r.val_acc == 0.8);
  CHECK(r.value("val_acc") == 0.8);
  CHECK(r.value("val_top5_acc") == 0.97);
  CHECK_FALSE(r.value("val_loss"));  // no validation loss recorded
  CHECK_FALSE(r.value("lr_warmup"));
  const report::Json j = r.to_json();
  std::vector<std::string> keys;
  for (const auto& [key, value] : j.items()) keys.push_back(key);
  CHECK(keys == std::vector<std::string>{"epoch", "train_loss", "val_acc", "test_loss", "test_acc",
                                         "lr", "seconds", "examples_per_sec", "data_seconds",
                                         "eval_seconds", "val_top5_acc"});
  const report::EpochRecord back = report::EpochRecord::from_json(j);
  CHECK(back.value("val_top5_acc") == 0.97);
  CHECK(back.value("val_acc") == 0.8);
  CHECK(back.more.size() == 1);
}

TEST_CASE(
    "an epoch record from an older dlx, without the later fields, reads with their defaults") {
  const auto old = report::Json::parse(
      R"({"epoch":1,"train_loss":0.7,"train_acc":0.7,"test_loss":0.3,"test_acc":0.9,"lr":0.05,)"
      R"("seconds":0.05,"examples_per_sec":70000})");
  const report::EpochRecord r = report::EpochRecord::from_json(old);
  CHECK(r.data_seconds == 0);
  CHECK_FALSE(r.val_acc);
  CHECK(r.more.empty());
  CHECK_THROWS(report::EpochRecord::from_json(report::Json::parse("{}")));  // no epoch
}
