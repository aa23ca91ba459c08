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
