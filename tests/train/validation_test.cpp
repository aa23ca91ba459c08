// Judging runs honestly: a validation split held out of the training set, the epoch chosen on it
// (checkpoint_best.pt), early stopping, and a comparison whose best run is chosen on validation.
#include <doctest/doctest.h>

#include <sstream>

#include "framework/compare/compare.h"
#include "framework/core/files.h"
#include "framework/data/dataset.h"
#include "framework/experiment/experiment.h"
#include "framework/train/checkpoint.h"
#include "framework/train/judge.h"
#include "framework/train/run.h"
#include "tests/helpers.h"

using namespace dlx;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

const char* kExperiment = R"(name: judged
model:
  layers:
    - dense: {units: 16, activation: relu}
    - dense: {units: 4}
data:
  dataset: synthetic
  batch_size: 32
  val_split: 0.25
  synthetic: {classes: 4, train_size: 400, test_size: 100, size: 6, noise: 1.5}
train:
  epochs: 6
  optimizer: {type: sgd, lr: 0.05}
  seed: 3
  device: cpu
  threads: 1
)";

struct Run {
  testing::TempDir dir;
  train::RunOutcome outcome;
  std::string printed;
  explicit Run(const std::vector<std::string>& sets = {}) {
    std::vector<config::Override> overrides;
    for (const auto& s : sets) overrides.push_back(config::parse_override(s));
    auto spec = config::load_experiment(dir.write("judged.yaml", kExperiment), overrides);
    std::ostringstream out;
    train::RunOptions options;
    options.runs_root = dir.path() / "runs";
    outcome = train::run_experiment(spec, options, out);
    printed = out.str();
  }
  Json report() const { return Json::parse(read_file(outcome.folder / "report.json")); }
};

report::EpochRecord with_val(int64_t epoch, double val_acc, double val_loss, double test_acc) {
  report::EpochRecord r = testing::epoch_record(epoch, 1.0, test_acc);
  r.val_acc = val_acc, r.val_loss = val_loss;
  return r;
}

}  // namespace

TEST_CASE("a validation split is held out per class, seeded, and disjoint from training") {
  config::SyntheticSpec synthetic;
  synthetic.train_size = 403, synthetic.classes = 4;
  data::Split train = data::make_synthetic(synthetic).train;
  const data::Split whole = train;
  data::Split val = data::hold_out(train, 0.25, 5);
  CHECK(train.size() + val.size() == 403);
  for (int64_t c = 0; c < 4; ++c) {
    const int64_t n = whole.labels.eq(c).sum().item<int64_t>();
    CHECK(val.labels.eq(c).sum().item<int64_t>() == std::llround(double(n) * 0.25));
  }
  data::Split again = whole;
  CHECK(data::hold_out(again, 0.25, 5).images.equal(val.images));  // the same seed, the same split
  data::Split other = whole;
  CHECK_FALSE(data::hold_out(other, 0.25, 6).images.equal(val.images));
  // No example is in both: every validation image differs from every training one.
  for (int64_t i = 0; i < val.size(); i += 17) {
    CHECK(train.images.eq(val.images[i].unsqueeze(0)).flatten(1).all(1).sum().item<int64_t>() == 0);
  }
}

TEST_CASE("with validation every epoch records val_loss and val_acc, and the best epoch is kept") {
  Run run;
  REQUIRE(run.outcome.status == report::RunStatus::kCompleted);
  CHECK(run.printed.find("300 train, 100 validation, 100 test examples") != std::string::npos);
  Json r = run.report();
  CHECK(r["data"]["val_examples"] == 100);
  int64_t best_epoch = 0;
  double best = -1;
  for (const auto& e : r["epochs"]) {
    REQUIRE(e.contains("val_acc"));
    REQUIRE(e.contains("val_loss"));
    if (e["val_acc"].get<double>() > best) best = e["val_acc"], best_epoch = e["epoch"];
  }
  const Json& f = r["final"];
  CHECK(f["selected_by"] == "val_acc");
  CHECK(f["selected_epoch"] == best_epoch);
  CHECK(f["selected_value"] == best);
  CHECK(f["selected_test_acc"] == r["epochs"][best_epoch - 1]["test_acc"]);
  REQUIRE(fs::exists(run.outcome.folder / "checkpoint_best.pt"));
  // The kept weights are that epoch's: a run stopped there has them as its checkpoint.
  Run shorter({"train.epochs=" + std::to_string(best_epoch)});
  auto kept = train::read_weights(run.outcome.folder / "checkpoint_best.pt");
  auto then = train::read_weights(shorter.outcome.folder / "checkpoint.pt");
  for (const auto& [name, tensor] : then) CHECK(tensor.equal(kept.at(name)));
}

TEST_CASE("selection and early stopping follow their metric, in its direction") {
  config::TrainSpec spec;
  spec.select = config::SelectKind::kValLoss;
  spec.early_stopping.metric = "val_acc";
  spec.early_stopping.patience = 2;
  spec.early_stopping.min_delta = 0.01;
  train::Judge judge(spec, true);
  std::vector<report::EpochRecord> epochs{with_val(1, 0.50, 1.0, 0.4), with_val(2, 0.60, 0.8, 0.5)};
  CHECK(judge.select_by() == "val_loss");
  CHECK(judge.selected(epochs) == 2);
  CHECK(judge.stop_reason(epochs).empty());
  epochs.push_back(with_val(3, 0.605, 0.9, 0.9));  // better test, worse val loss: not chosen
  CHECK(judge.selected(epochs) == 2);
  CHECK(judge.stop_reason(epochs).empty());
  epochs.push_back(with_val(4, 0.59, 0.7, 0.5));  // 0.605 is within min_delta of 0.60
  CHECK(judge.selected(epochs) == 4);
  CHECK(judge.stop_reason(epochs) ==
        "val_acc did not improve by more than 0.01 for 2 epochs after epoch 2");
  config::TrainSpec plain;
  train::Judge last(plain, false);
  CHECK(last.select_by() == "last");
  CHECK_FALSE(last.keeps_best());
  CHECK(last.selected(epochs) == 4);
}

TEST_CASE("early stopping ends a run as completed, with the reason in the report") {
  Run run(
      {"train.epochs=40", "train.early_stopping={metric: train_loss, patience: 1, min_delta: 10}"});
  REQUIRE(run.outcome.status == report::RunStatus::kCompleted);
  Json r = run.report();
  CHECK(r["epochs"].size() == 2);  // epoch 2 cannot improve on epoch 1 by 10
  CHECK(r["stopped_early"] ==
        "train_loss did not improve by more than 10 for 1 epoch after epoch 1");
  CHECK(run.printed.find("stopping early: train_loss did not improve") != std::string::npos);
}

TEST_CASE("choosing on validation without a validation split is a config error") {
  testing::TempDir dir;
  auto file = dir.write("e.yaml", std::string(kExperiment) + "  select: val_acc\n");
  CHECK(testing::config_error([&] {
          experiment::load(file, {config::parse_override("data.val_split=0")});
        }) == (dir.path() / "e.yaml").string() +
                  ":17:11: error: train.select: val_acc needs a validation split: set "
                  "data.val_split (e.g. 0.1)");
}

TEST_CASE("dlx compare judges runs on validation where they have it, never on test") {
  auto row = [](const std::string& label, double val, double test) {
    compare::RunRow r;
    r.label = label;
    r.status = "completed";
    r.config = {{"train.optimizer.lr", label == "a" ? 0.1 : 0.3}};
    r.final = {{"val_acc", val}, {"test_acc", test}};
    return r;
  };
  compare::Comparison c = compare::prepare({row("a", 0.9, 0.7), row("b", 0.8, 0.95)}, {});
  CHECK(c.metric == "val_acc");
  CHECK(c.best == 0);  // a: the better validation accuracy, though b tests better
  compare::Options by_test;
  by_test.metric = "test_acc";
  CHECK(compare::prepare({row("a", 0.9, 0.7), row("b", 0.8, 0.95)}, by_test).best == 1);
}
