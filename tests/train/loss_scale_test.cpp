// float16's dynamic loss scaling (train/loss_scale.h), checked on the CPU in float32: scaling by a
// power of two must change no bit of a step that does not overflow, a step that overflows must be
// skipped, and the scale must back off and grow as GradScaler's does.
#include <doctest/doctest.h>

#include <ATen/ops/allclose.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/tensor.h>
#include <torch/optim/sgd.h>

#include <cmath>

#include "framework/metrics/loss.h"
#include "framework/train/checkpoint.h"
#include "framework/train/trainer.h"
#include "tests/helpers.h"

using namespace dlx;

namespace {

struct Epoch {
  nn::Network net = testing::small_conv_net();
  train::EpochState state;
};

// One epoch of 8 steps on random images, SGD with momentum, from the same start each time.
Epoch train_one_epoch(const train::LossScaleState& scaling) {
  at::manual_seed(2);
  data::Split split(at::randint(0, 256, {128, 1, 8, 8}).to(at::kByte), at::randint(0, 3, {128}));
  Epoch e;
  torch::optim::SGD sgd(e.net.body->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  data::BatchOptions options;
  options.batch_size = 16;
  options.shuffle = true;
  options.seed = 3;
  train::EpochState from;
  from.scaling = scaling;
  train::Progress progress(false, 1);
  train::EpochResult r =
      train::train_epoch(e.net, sgd, metrics::make_loss({}), split, options, from, progress);
  REQUIRE(r.finished);
  e.state = r.state;
  return e;
}

std::vector<at::Tensor> parameters(const nn::Network& net) {
  std::vector<at::Tensor> out;
  for (const auto& p : net.body->parameters()) out.push_back(p.detach().clone());
  return out;
}

}  // namespace

TEST_CASE("loss scaling by a power of two changes no bit of an epoch whose gradients fit") {
  const Epoch plain = train_one_epoch({});
  const Epoch scaled = train_one_epoch({65536.0, 0, 0});
  const auto a = parameters(plain.net), b = parameters(scaled.net);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CAPTURE(i);
    CHECK(at::equal(a[i], b[i]));
  }
  CHECK(scaled.state.loss_sum == plain.state.loss_sum);
  CHECK(scaled.state.scaling.skipped_steps == 0);
  CHECK(scaled.state.scaling.good_steps == 8);
  CHECK(scaled.state.scaling.scale == 65536.0);
  CHECK_FALSE(plain.state.scaling.on());
}

TEST_CASE(
    "steps whose scaled gradients overflow are skipped, and the scale halves until they fit") {
  // At 2^127 the scaled gradients overflow float32 in backward (the scaled loss itself, near
  // ln(3) * 2^127, still fits): the first steps are skipped.
  const Epoch e = train_one_epoch({std::ldexp(1.0, 127), 0, 0});
  const train::LossScaleState& s = e.state.scaling;
  CHECK(s.skipped_steps >= 1);
  CHECK(s.skipped_steps < 8);  // some steps trained
  CHECK(s.scale == std::ldexp(1.0, 127 - int(s.skipped_steps)));
  // The streak since the last skip: an overflow can come back as the weights move.
  CHECK(s.good_steps >= 1);
  CHECK(s.good_steps <= 8 - s.skipped_steps);
  CHECK(std::isfinite(e.state.loss_sum));
  CHECK(e.state.diverged_step == -1);  // a skipped step is not divergence
  for (const auto& p : parameters(e.net)) CHECK(at::isfinite(p).all().item<bool>());
}

TEST_CASE("a skipped step leaves weights and momentum alone; good steps in a row grow the scale") {
  at::Tensor w = at::ones({2}).requires_grad_(true);
  torch::optim::SGD sgd({w}, torch::optim::SGDOptions(0.5).momentum(0.9));
  train::LossScaleOptions options;
  options.growth_interval = 2;
  train::LossScaler scaler({8.0, 0, 0}, {w}, options);
  auto step_with_grad = [&](float g0, float g1) {
    w.mutable_grad() = at::tensor({g0, g1});
    return scaler.step(sgd);
  };
  CHECK(step_with_grad(8.0f, 16.0f));  // unscaled: 1 and 2
  CHECK(at::equal(w.detach(), at::tensor({0.5f, 0.0f})));
  CHECK(scaler.state().scale == 8.0);
  CHECK(scaler.state().good_steps == 1);
  CHECK_FALSE(step_with_grad(INFINITY, 8.0f));
  CHECK(at::equal(w.detach(), at::tensor({0.5f, 0.0f})));
  CHECK(scaler.state().scale == 4.0);
  CHECK(scaler.state().skipped_steps == 1);
  CHECK(scaler.state().good_steps == 0);
  CHECK_FALSE(step_with_grad(NAN, 0.0f));
  CHECK(scaler.state().scale == 2.0);
  // Momentum is what the one good step left: 0.9 * (1, 2) + (0, 0) after a zero gradient.
  CHECK(step_with_grad(0.0f, 0.0f));
  CHECK(at::allclose(w.detach(), at::tensor({0.05f, -0.9f})));
  CHECK(step_with_grad(0.0f, 0.0f));
  CHECK(scaler.state().scale == 4.0);  // two good steps in a row: doubled
  CHECK(scaler.state().good_steps == 0);
  CHECK(at::equal(scaler.scaled(at::tensor(3.0f)), at::tensor(12.0f)));
}

TEST_CASE("the loss scale and its counts survive train_state.pt, for an exact resume") {
  testing::TempDir dir;
  nn::Network net = testing::small_conv_net();
  torch::optim::SGD sgd(net.body->parameters(), torch::optim::SGDOptions(0.1));
  train::EpochState saved;
  saved.epoch = 2, saved.steps = 5;
  saved.scaling = {1024.0, 7, 3};
  train::save_checkpoint(dir.path(), net, sgd, saved);
  const train::EpochState loaded = train::load_train_state(dir.path(), sgd, c10::kCPU);
  CHECK(loaded.scaling.scale == 1024.0);
  CHECK(loaded.scaling.good_steps == 7);
  CHECK(loaded.scaling.skipped_steps == 3);
  CHECK(loaded.steps == 5);
}
