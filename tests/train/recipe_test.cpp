// The training recipe's pieces (issue 30): mixup and cutmix against torchvision's reference
// formulas, gradient clipping against LibTorch's own clip_grad_norm_/clip_grad_value_,
// accumulation against the large batch, the EMA against its formula, per-step schedules against
// torchvision's LinearLR and CosineAnnealingLR, and a run with all of them resumed exactly.
#include <doctest/doctest.h>

#include <ATen/ops/allclose.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/log.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/one_hot.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/sigmoid.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/sgd.h>

#include <cmath>
#include <set>
#include <sstream>

#include "framework/core/files.h"
#include "framework/data/draws.h"
#include "framework/experiment/experiment.h"
#include "framework/metrics/loss.h"
#include "framework/train/checkpoint.h"
#include "framework/train/ema.h"
#include "framework/train/mix.h"
#include "framework/train/optim.h"
#include "framework/train/run.h"
#include "framework/train/session.h"
#include "framework/train/trainer.h"
#include "tests/helpers.h"

using namespace dlx;
namespace fs = std::filesystem;
using Json = nlohmann::json;

TEST_CASE("mixup blends each image and its one-hot label with the previous one's") {
  const at::Tensor images = at::randn({4, 3, 5, 5});
  const at::Tensor labels = at::tensor({0, 2, 1, 2}, at::kLong);
  const train::MixedBatch m = train::mixup(images, labels, 3, 0.7);
  // torchvision's RandomMixup: batch_rolled = batch.roll(1, 0); batch * l + rolled * (1 - l).
  for (int64_t i = 0; i < 4; ++i) {
    const int64_t prev = (i + 3) % 4;
    CHECK(at::allclose(m.images[i], images[i] * 0.7 + images[prev] * 0.3));
    at::Tensor target = at::zeros({3});
    target[labels[i].item<int64_t>()] += 0.7;
    target[labels[prev].item<int64_t>()] += 0.3;
    CHECK(at::allclose(m.targets[i], target));
  }
}

TEST_CASE("cutmix pastes the previous image's box, and the targets share its exact area") {
  // torchvision's RandomCutmix: r = 0.5 sqrt(1 - l), half-sides int(r W), int(r H) about the
  // centre, clipped to the image.
  const train::CutBox box = train::cut_box(0.64, 1, 8, 10, 10);  // r = 0.3: half-sides 3
  CHECK(box.y1 == 0);
  CHECK(box.y2 == 4);
  CHECK(box.x1 == 5);
  CHECK(box.x2 == 10);
  const at::Tensor images = at::arange(2 * 1 * 10 * 10, at::kFloat).view({2, 1, 10, 10});
  const at::Tensor labels = at::tensor({1, 0}, at::kLong);
  const train::MixedBatch m = train::cutmix(images, labels, 2, box);
  for (int64_t y = 0; y < 10; ++y)
    for (int64_t x = 0; x < 10; ++x) {
      const bool inside = y < 4 && x >= 5;
      CHECK(m.images[0][0][y][x].item<float>() == images[inside ? 1 : 0][0][y][x].item<float>());
    }
  const double share = 1.0 - 20.0 / 100.0;
  CHECK(m.share == doctest::Approx(share));
  CHECK(m.targets[0][1].item<double>() == doctest::Approx(share));
  CHECK(m.targets[0][0].item<double>() == doctest::Approx(1 - share));
}

TEST_CASE("a batch's mix follows (seed, epoch, step); prob and switch_prob choose as timm's") {
  const at::Tensor images = at::randn({6, 1, 8, 8});
  const at::Tensor labels = at::tensor({0, 1, 2, 0, 1, 2}, at::kLong);
  config::MixSpec spec;
  spec.mixup_alpha = 0.2, spec.cutmix_alpha = 1.0;
  const auto a = train::mix_batch(images, labels, 3, spec, 7, 2, 5);
  const auto b = train::mix_batch(images, labels, 3, spec, 7, 2, 5);
  CHECK(a.share == b.share);
  CHECK(at::equal(a.images, b.images));
  std::set<double> shares;
  int cut = 0, mixed = 0;
  for (int64_t step = 0; step < 200; ++step) {
    const auto m = train::mix_batch(images, labels, 3, spec, 7, 2, step);
    shares.insert(m.share);
    // Cutmix leaves pixels untouched outside its box; mixup changes every pixel.
    const bool cutmix = at::equal(m.images[0][0][0], images[0][0][0]) ||
                        at::equal(m.images[0][0][7], images[0][0][7]);
    cut += cutmix, mixed += !cutmix;
  }
  CHECK(shares.size() > 80);  // cutmix's shares are areas of whole pixels: some repeat
  CHECK(cut > 60);            // switch_prob 0.5
  CHECK(mixed > 60);
  spec.prob = 0;
  const auto none = train::mix_batch(images, labels, 3, spec, 7, 2, 5);
  CHECK(none.share == 1);
  CHECK(at::equal(none.targets, labels));
}

TEST_CASE("Beta draws have Beta's mean and variance") {
  data::Draws draws(data::DrawPosition{1, 1, 1, 0, 1}, 9);
  for (double alpha : {0.2, 1.0, 3.0}) {
    double sum = 0, squares = 0;
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
      const double x = draws.beta(alpha, alpha);
      REQUIRE(x >= 0);
      REQUIRE(x <= 1);
      sum += x, squares += x * x;
    }
    const double mean = sum / n, var = squares / n - mean * mean;
    CAPTURE(alpha);
    CHECK(mean == doctest::Approx(0.5).epsilon(0.02));
    CHECK(var == doctest::Approx(1.0 / (4.0 * (2.0 * alpha + 1.0))).epsilon(0.05));
  }
}

TEST_CASE("soft targets: cross-entropy and BCE of a mixed batch, smoothed as PyTorch and timm") {
  at::manual_seed(4);
  const at::Tensor logits = at::randn({5, 4});
  const at::Tensor targets = at::softmax(at::randn({5, 4}), 1);
  config::LossSpec spec;
  spec.label_smoothing = 0.1;
  const at::Tensor smoothed = targets * 0.9 + 0.1 / 4;
  const at::Tensor ce = -(smoothed * at::log_softmax(logits, 1)).sum(1).mean();
  CHECK(at::allclose(metrics::make_loss(spec)(logits, targets), ce, 1e-6, 1e-7));
  spec.type = "binary_cross_entropy";
  const at::Tensor p = at::sigmoid(logits);
  const at::Tensor bce = -(smoothed * at::log(p) + (1 - smoothed) * at::log(1 - p)).mean();
  CHECK(at::allclose(metrics::make_loss(spec)(logits, targets), bce, 1e-5, 1e-6));
}

namespace {

std::vector<at::Tensor> gradients_of(int64_t seed) {
  at::manual_seed(seed);
  std::vector<at::Tensor> params{at::randn({3, 4}), at::randn({7}), at::randn({2, 2, 2})};
  for (auto& p : params) {
    p.requires_grad_(true);
    p.mutable_grad() = at::randn(p.sizes()) * 3;
  }
  return params;
}

}  // namespace

TEST_CASE("clipping equals LibTorch's clip_grad_norm_ and clip_grad_value_") {
  for (double max_norm : {0.5, 100.0}) {
    auto ours = gradients_of(1), theirs = gradients_of(1);
    train::clip_gradients(ours, max_norm, 0);
    torch::nn::utils::clip_grad_norm_(theirs, max_norm);
    for (size_t i = 0; i < ours.size(); ++i)
      CHECK(at::allclose(ours[i].grad(), theirs[i].grad(), 1e-6, 1e-7));
  }
  auto ours = gradients_of(2), theirs = gradients_of(2);
  train::clip_gradients(ours, 0, 0.8);
  torch::nn::utils::clip_grad_value_(theirs, 0.8);
  for (size_t i = 0; i < ours.size(); ++i) CHECK(at::equal(ours[i].grad(), theirs[i].grad()));
  CHECK(ours[0].grad().abs().max().item<double>() == doctest::Approx(0.8));
}

namespace {

// One epoch of plain SGD on a network without batch norm, from the same start each time.
std::vector<at::Tensor> one_epoch(int64_t batch_size, int64_t accumulate) {
  at::manual_seed(5);
  data::Split split(at::randint(0, 256, {96, 1, 6, 6}).to(at::kByte), at::randint(0, 3, {96}));
  nn::Network net = testing::one_layer("dense: {units: 3}", nn::Shape{1, 6, 6});  // flattens
  torch::optim::SGD sgd(net.body->parameters(), torch::optim::SGDOptions(0.5));
  data::BatchOptions options;
  options.batch_size = batch_size;
  train::StepRecipe recipe;
  recipe.accumulate = accumulate;
  train::Progress progress(false, 1);
  const train::EpochResult r = train::train_epoch(net, sgd, metrics::make_loss({}), split, options,
                                                  train::EpochState{}, progress, recipe);
  REQUIRE(r.finished);
  CHECK(r.state.steps == 96 / batch_size);
  std::vector<at::Tensor> out;
  for (const auto& p : net.body->parameters()) out.push_back(p.detach().clone());
  return out;
}

}  // namespace

TEST_CASE("accumulate: k batches make the update of one batch k times larger") {
  const auto large = one_epoch(32, 1);
  const auto accumulated = one_epoch(8, 4);
  const auto small = one_epoch(8, 1);
  for (size_t i = 0; i < large.size(); ++i) {
    CHECK(at::allclose(accumulated[i], large[i], 1e-5, 1e-6));
    CHECK_FALSE(at::allclose(small[i], large[i], 1e-3, 1e-4));
  }
  // An epoch of 96 / 8 = 12 batches with accumulate 5: updates of 5, 5 and 2 batches.
  CHECK(train::updates_per_epoch(12, 5) == 3);
}

TEST_CASE(
    "EMA: average = decay * average + (1 - decay) * live; copies first; torchvision's adjust") {
  nn::Network net = testing::one_layer("dense: {units: 2}", nn::Shape{3});
  auto weight = [&] { return net.body->parameters()[0]; };
  train::Ema ema(net, 0.9);
  const at::Tensor w0 = weight().detach().clone();
  torch::NoGradGuard no_grad;
  weight().add_(1.0);
  ema.update(net, /*copy=*/true);
  CHECK(at::equal(ema.weights()[0].second, weight()));
  const at::Tensor w1 = weight().detach().clone();
  weight().mul_(3.0);
  ema.update(net, false);
  CHECK(at::allclose(ema.weights()[0].second, w1 * 0.9 + weight() * 0.1, 1e-6, 1e-7));
  ema.swap(net);  // the average in the network, the live weights kept
  CHECK(at::allclose(weight(), w1 * 0.9 + w1 * 3.0 * 0.1, 1e-6, 1e-7));
  ema.swap(net);
  CHECK(at::allclose(weight(), w1 * 3.0));
  CHECK_FALSE(at::equal(w0, w1));
  // torchvision: alpha = min(1, (1 - decay) * world * batch * steps / epochs), decay = 1 - alpha.
  config::EmaSpec spec;
  spec.decay = 0.99998, spec.steps = 32;
  CHECK(train::ema_decay(spec, 128, 8, 600) == doctest::Approx(1 - 0.00002 * 8 * 128 * 32 / 600.0));
  spec.adjust = false;
  CHECK(train::ema_decay(spec, 128, 8, 600) == 0.99998);
}

TEST_CASE("per-step schedules: LinearLR's warm-up from its start factor, then cosine by update") {
  config::TrainSpec t;
  t.epochs = 10;
  t.optimizer.lr = 0.5;
  t.scheduler.type = config::SchedulerKind::kCosine;
  t.scheduler.per_step = true;
  t.scheduler.warmup_epochs = 2;
  t.scheduler.warmup_start_factor = 0.01;
  // torchvision: LinearLR(start_factor=0.01, total_iters=2 epochs), then CosineAnnealingLR over
  // the remaining 8 epochs, both evaluated at the fractional epoch.
  for (double done : {0.0, 0.25, 1.5, 1.99}) {
    CAPTURE(done);
    CHECK(train::lr_at(t, done, 100) == doctest::Approx(0.5 * (0.01 + 0.99 * done / 2)));
  }
  for (double done : {2.0, 3.7, 9.99}) {
    CAPTURE(done);
    CHECK(train::lr_at(t, done, 100) ==
          doctest::Approx(0.25 * (1 + std::cos(M_PI * (done - 2) / 8))));
  }
  // Warm-up in updates: 50 updates of 100 per epoch are half an epoch.
  t.scheduler.warmup_epochs = 0;
  t.scheduler.warmup_steps = 50;
  CHECK(train::lr_at(t, 0.25, 100) == doctest::Approx(0.5 * (0.01 + 0.99 * 0.5)));
  CHECK(train::lr_at(t, 0.5, 100) == doctest::Approx(0.5));
  // Per epoch, d2l's warm-up stays: lr * e / warmup_epochs in epoch e.
  config::TrainSpec d2l;
  d2l.optimizer.lr = 0.4;
  d2l.scheduler.warmup_epochs = 4;
  CHECK(train::scheduled_lr(d2l, 1) == doctest::Approx(0.1));
  CHECK(train::scheduled_lr(d2l, 4) == doctest::Approx(0.4));
}

namespace {

const char* kRecipe = R"(name: recipe
model:
  layers:
    - conv2d: {out_channels: 4, kernel_size: 3}
    - batchnorm2d
    - relu
    - adaptive_avgpool2d: {output_size: 1}
    - flatten
    - dense: {units: 4}
data:
  dataset: synthetic
  batch_size: 16
  synthetic: {classes: 4, train_size: 512, test_size: 64, size: 8}
  val_split: 0.125
train:
  epochs: 3
  optimizer: {type: sgd, lr: 0.05, momentum: 0.9}
  scheduler: {type: cosine, per_step: true, warmup_epochs: 1, warmup_start_factor: 0.1}
  loss: {label_smoothing: 0.1}
  mix: {mixup_alpha: 0.2, cutmix_alpha: 1.0}
  accumulate: 2
  clip_grad_norm: 1.0
  ema: {decay: 0.9, steps: 4, adjust: false}
  metrics: [top2_acc, macro_f1]
  select: ema
  seed: 11
  device: cpu
  threads: 1
)";

}  // namespace

TEST_CASE("a run with the whole recipe records its figures and resumes to the same result") {
  testing::TempDir dir;
  const fs::path file = dir.write("recipe.yaml", kRecipe);
  std::ostringstream out;
  train::RunOptions options;
  options.runs_root = dir.path() / "runs";
  const auto whole = train::run_experiment(experiment::load(file), options, out);
  REQUIRE(whole.status == report::RunStatus::kCompleted);
  const Json report = Json::parse(read_file(whole.folder / "report.json"));
  const Json& last = report["epochs"].back();
  for (const char* key :
       {"train_top2_acc", "val_top2_acc", "test_top2_acc", "test_macro_f1", "val_macro_f1",
        "ema_test_acc", "ema_val_acc", "ema_test_loss", "ema_test_top2_acc", "ema_test_macro_f1"}) {
    CAPTURE(key);
    CHECK(last.contains(key));
  }
  CHECK_FALSE(last.contains("train_macro_f1"));
  CHECK(last["test_top2_acc"].get<double>() >= last["test_acc"].get<double>());
  // select: ema keeps the average as the run's model.
  CHECK(report["final"]["selected_by"] == "ema");
  CHECK(report["final"]["selected_test_acc"] == last["ema_test_acc"]);
  const auto average = train::read_weights(train::ema_weights_file(whole.folder));
  const auto live = train::read_weights(whole.folder / "checkpoint.pt");
  const auto kept = train::read_weights(train::kept_weights_file(whole.folder));
  CHECK(at::equal(kept.at("conv0.weight"), average.at("conv0.weight")));
  CHECK(at::equal(kept.at("batchnorm0.running_mean"), average.at("batchnorm0.running_mean")));
  CHECK_FALSE(at::equal(kept.at("conv0.weight"), live.at("conv0.weight")));

  train::RunOptions pausing = options;
  pausing.stop_after = 1;
  options.runs_root = pausing.runs_root = dir.path() / "cut";
  const auto paused = train::run_experiment(experiment::load(file), pausing, out);
  REQUIRE(paused.status == report::RunStatus::kInterrupted);
  const auto resumed = train::resume_run(paused.folder, {}, false, options, out);
  REQUIRE(resumed.status == report::RunStatus::kCompleted);
  for (const fs::path name : {"checkpoint.pt", "checkpoint_ema.pt"}) {
    const auto expected = train::read_weights(whole.folder / name);
    for (const auto& [key, t] : train::read_weights(resumed.folder / name)) {
      CAPTURE(name);
      CAPTURE(key);
      CHECK(at::equal(t, expected.at(key)));
    }
  }
  const Json again = Json::parse(read_file(resumed.folder / "report.json"));
  for (const char* key : {"test_acc", "ema_test_acc", "ema_val_loss", "val_macro_f1"})
    CHECK(again["epochs"].back()[key] == last[key]);
}
