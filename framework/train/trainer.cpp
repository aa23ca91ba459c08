#include "framework/train/trainer.h"

#include <ATen/ops/bincount.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/full.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <optional>

namespace dlx::train {

std::atomic<int> stop_signal{0};

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// How often (in steps) the loop reads the divergence flag back from the device.
constexpr int64_t kDivergenceCheckEvery = 32;

// Running sums kept on the device: reading them forces a sync, so it happens rarely.
struct Sums {
  at::Tensor loss, correct, diverged_step;
  Sums(c10::Device device, const EpochState& from)
      : loss(at::full({}, from.loss_sum, at::TensorOptions().dtype(at::kDouble).device(device))),
        correct(at::full({}, from.correct, at::TensorOptions().dtype(at::kLong).device(device))),
        diverged_step(at::full({}, from.diverged_step,
                               at::TensorOptions().dtype(at::kLong).device(device))) {}
  void add(const at::Tensor& batch_loss, const at::Tensor& logits, const at::Tensor& labels) {
    loss.add_(batch_loss.detach() * labels.size(0));
    correct.add_(logits.argmax(1).eq(labels).sum());
  }
  // Records the first step whose loss is not finite, without a host round-trip.
  void watch(const at::Tensor& batch_loss, int64_t step) {
    at::Tensor first = diverged_step.lt(0).logical_and(at::isfinite(batch_loss).logical_not());
    diverged_step.masked_fill_(first, step);
  }
  void read_into(EpochState& s) const {
    s.loss_sum = loss.item<double>();
    s.correct = correct.item<int64_t>();
    s.diverged_step = diverged_step.item<int64_t>();
  }
};

// Sums `values` over the group's ranks.
std::vector<double> summed(distributed::Group& group, const std::vector<double>& values) {
  at::Tensor t = at::tensor(values, at::kDouble);
  group.allreduce_sum(t);
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

}  // namespace

EpochResult train_epoch(nn::Network& network, torch::optim::Optimizer& optimizer,
                        const data::Split& split, const data::BatchOptions& options,
                        const EpochState& from, Progress& progress, DataParallel* parallel) {
  network.body->train();
  data::BatchIterator batches(split, options, from.epoch, from.steps);
  progress.start_epoch(from.epoch, batches.count());
  Sums sums(options.device, from);
  // The averaged gradients are the same on every rank, so all ranks skip the same steps.
  std::optional<LossScaler> scaler;
  if (from.scaling.on()) scaler.emplace(from.scaling, network.body->parameters());
  EpochResult result{from, false};
  EpochState& s = result.state;
  const auto start = Clock::now();
  double data_seconds = 0;
  data::Batch batch;
  while (true) {
    const auto fetch = Clock::now();
    if (!batches.next(batch)) {
      result.finished = true;
      break;
    }
    data_seconds += seconds_since(fetch);
    optimizer.zero_grad();
    at::Tensor logits = network.forward(batch.images);
    at::Tensor loss = at::cross_entropy_loss(logits, batch.labels);
    (scaler ? scaler->scaled(loss) : loss).backward();
    distributed::GradientSync::Flags flags;
    if (parallel) {
      flags = parallel->sync.average(batch.labels.size(0), batches.global_size(),
                                     stop_signal.load() != 0, loss);
    }
    if (scaler)
      scaler->step(optimizer);
    else
      optimizer.step();
    sums.add(loss, logits, batch.labels);
    s.examples += batch.labels.size(0);
    sums.watch(loss, ++s.steps);
    if (progress.due()) {
      double done_seconds = s.seconds + seconds_since(start);
      progress.update(s.steps, sums.loss.item<double>() / double(s.examples),
                      double(s.examples - from.examples) / (done_seconds - from.seconds));
    }
    if (parallel) {
      // Every rank learned the same flags from the same message: they stop together.
      if (flags.diverged) sums.diverged_step.fill_(s.steps);
      if (flags.diverged || flags.stop) break;
      continue;
    }
    if (s.steps % kDivergenceCheckEvery == 0 && sums.diverged_step.item<int64_t>() >= 0) break;
    if (stop_signal.load() != 0) break;
  }
  s.seconds += seconds_since(start);
  s.data_seconds += data_seconds;
  if (scaler) s.scaling = scaler->state();
  sums.read_into(s);
  if (parallel) {
    auto total = summed(parallel->group, {s.loss_sum, double(s.correct), double(s.examples)});
    s.loss_sum = total[0], s.correct = int64_t(total[1]), s.examples = int64_t(total[2]);
  }
  if (s.diverged_step >= 0) result.finished = false;
  progress.finish_epoch();
  return result;
}

at::Tensor logits(nn::Network& network, const at::Tensor& images) {
  c10::InferenceMode inference;
  network.body->eval();
  at::Tensor out = network.forward(images);
  network.body->train();
  return out;
}

at::Tensor predict(nn::Network& network, const at::Tensor& images) {
  return logits(network, images).argmax(1);
}

Evaluation evaluate(nn::Network& network, const data::Split& split,
                    const data::BatchOptions& options, int64_t classes, distributed::Group* group) {
  c10::InferenceMode inference;
  network.body->eval();
  data::BatchOptions in_order = options;
  in_order.shuffle = false;
  in_order.augmenting = false;
  data::BatchIterator batches(split, in_order, 0);
  Sums sums(options.device, EpochState{});
  const auto start = Clock::now();
  int64_t examples = 0;
  at::Tensor confusion =
      at::zeros({classes * classes}, at::TensorOptions().dtype(at::kLong).device(options.device));
  data::Batch batch;
  while (batches.next(batch)) {
    at::Tensor logits = network.forward(batch.images);
    sums.add(at::cross_entropy_loss(logits, batch.labels), logits, batch.labels);
    confusion.add_(at::bincount(batch.labels * classes + logits.argmax(1), {}, classes * classes));
    examples += batch.labels.size(0);
  }
  EpochState totals;
  sums.read_into(totals);
  totals.examples = examples;
  if (group) {
    auto total = summed(*group, {totals.loss_sum, double(totals.correct), double(examples)});
    totals.loss_sum = total[0], totals.correct = int64_t(total[1]),
    totals.examples = int64_t(total[2]);
    confusion = confusion.to(at::kCPU);
    group->allreduce_sum(confusion);
  }
  network.body->train();
  return Evaluation{totals.mean_loss(), totals.accuracy(), seconds_since(start),
                    confusion.reshape({classes, classes}).to(at::kCPU)};
}

}  // namespace dlx::train
