#include "framework/train/trainer.h"

#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/zeros.h>
#include <c10/core/InferenceMode.h>

#include <chrono>

namespace dlx::train {

std::atomic<int> stop_signal{0};

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Running sums kept on the device: reading them forces a sync, so it happens once per epoch.
struct Sums {
  at::Tensor loss, correct;
  explicit Sums(c10::Device device)
      : loss(at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(device))),
        correct(at::zeros({}, at::TensorOptions().dtype(at::kLong).device(device))) {}
  void add(const at::Tensor& batch_loss, const at::Tensor& logits, const data::Batch& batch) {
    loss.add_(batch_loss.detach() * batch.labels.size(0));
    correct.add_(logits.argmax(1).eq(batch.labels).sum());
  }
};

}  // namespace

EpochTotals train_epoch(nn::Network& network, torch::optim::Optimizer& optimizer,
                        const data::Split& split, const data::BatchOptions& options, int64_t epoch,
                        Progress& progress) {
  network.body->train();
  data::BatchIterator batches(split, options, epoch);
  progress.start_epoch(epoch, batches.count());
  Sums sums(options.device);
  EpochTotals totals;
  const auto start = Clock::now();
  data::Batch batch;
  int64_t step = 0;
  while (true) {
    const auto fetch = Clock::now();
    if (!batches.next(batch)) break;
    totals.data_seconds += seconds_since(fetch);
    optimizer.zero_grad();
    at::Tensor logits = network.body->forward(batch.images);
    at::Tensor loss = at::cross_entropy_loss(logits, batch.labels);
    loss.backward();
    optimizer.step();
    sums.add(loss, logits, batch);
    totals.examples += batch.labels.size(0);
    ++step;
    if (progress.due()) {
      double running = sums.loss.item<double>() / double(totals.examples);
      progress.update(step, running, double(totals.examples) / seconds_since(start));
    }
    if (stop_signal.load() != 0) {
      totals.stopped = true;
      break;
    }
  }
  totals.seconds = seconds_since(start);
  if (totals.examples > 0) {
    totals.loss = sums.loss.item<double>() / double(totals.examples);
    totals.accuracy = double(sums.correct.item<int64_t>()) / double(totals.examples);
  }
  progress.finish_epoch();
  return totals;
}

EpochTotals evaluate(nn::Network& network, const data::Split& split,
                     const data::BatchOptions& options) {
  c10::InferenceMode inference;
  network.body->eval();
  data::BatchOptions in_order = options;
  in_order.shuffle = false;
  data::BatchIterator batches(split, in_order, 0);
  Sums sums(options.device);
  EpochTotals totals;
  const auto start = Clock::now();
  data::Batch batch;
  while (batches.next(batch)) {
    at::Tensor logits = network.body->forward(batch.images);
    sums.add(at::cross_entropy_loss(logits, batch.labels), logits, batch);
    totals.examples += batch.labels.size(0);
  }
  totals.seconds = seconds_since(start);
  if (totals.examples > 0) {
    totals.loss = sums.loss.item<double>() / double(totals.examples);
    totals.accuracy = double(sums.correct.item<int64_t>()) / double(totals.examples);
  }
  network.body->train();
  return totals;
}

}  // namespace dlx::train
