#include "framework/train/trainer.h"

#include "framework/train/optim.h"

#include <ATen/ops/bincount.h>
#include <ATen/ops/full.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <optional>

#include "framework/metrics/metric.h"

namespace dlx::train {

std::atomic<int> stop_signal{0};

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// How often (in steps) the loop reads the divergence flag back from the device.
constexpr int64_t kDivergenceCheckEvery = 32;

// Running sums kept on the device: reading them forces a sync, so it happens rarely. One sum
// for the loss and one for each registered metric that has a batch sum.
struct Sums {
  at::Tensor loss, diverged_step;
  std::vector<std::pair<const metrics::MetricEntry*, at::Tensor>> metric;
  Sums(c10::Device device, const EpochState& from)
      : loss(at::full({}, from.loss_sum, at::TensorOptions().dtype(at::kDouble).device(device))),
        diverged_step(
            at::full({}, from.diverged_step, at::TensorOptions().dtype(at::kLong).device(device))) {
    for (const auto& m : metrics::builtin_metrics()) {
      if (!m.batch_sum) continue;
      auto it = from.metric_sums.find(m.name);
      const double start = it == from.metric_sums.end() ? 0.0 : it->second;
      metric.emplace_back(&m, at::full({}, start, loss.options()));
    }
  }
  void add(const at::Tensor& batch_loss, const at::Tensor& logits, const at::Tensor& labels) {
    loss.add_(batch_loss.detach() * labels.size(0));
    for (auto& [m, sum] : metric) sum.add_(m->batch_sum(logits.detach(), labels));
  }
  // Records the first step whose loss is not finite, without a host round-trip.
  void watch(const at::Tensor& batch_loss, int64_t step) {
    at::Tensor first = diverged_step.lt(0).logical_and(at::isfinite(batch_loss).logical_not());
    diverged_step.masked_fill_(first, step);
  }
  void read_into(EpochState& s) const {
    s.loss_sum = loss.item<double>();
    for (const auto& [m, sum] : metric) s.metric_sums[m->name] = sum.item<double>();
    s.diverged_step = diverged_step.item<int64_t>();
  }
};

// Sums the state's loss, metric sums and examples over the group's ranks.
void sum_over(distributed::Group& group, EpochState& s) {
  std::vector<double> values{s.loss_sum, double(s.examples)};
  for (const auto& [name, sum] : s.metric_sums) values.push_back(sum);
  at::Tensor t = at::tensor(values, at::kDouble);
  group.allreduce_sum(t);
  const double* total = t.data_ptr<double>();
  s.loss_sum = total[0], s.examples = int64_t(total[1]);
  size_t i = 2;
  for (auto& [name, sum] : s.metric_sums) sum = total[i++];
}

}  // namespace

std::map<std::string, double> EpochState::figures() const {
  std::map<std::string, double> out{{"loss", mean_loss()}};
  for (const auto& [name, sum] : metric_sums) out[name] = examples ? sum / double(examples) : 0.0;
  return out;
}

namespace {

// One step: forward, loss, backward, the gradients averaged over the ranks, the optimizer's
// step (or a skipped one, with loss scaling). Returns the step's loss and logits; `flags` gets
// what the ranks agreed.
std::pair<at::Tensor, at::Tensor> train_step(nn::Network& network,
                                             torch::optim::Optimizer& optimizer,
                                             const metrics::LossFn& loss_of,
                                             const data::Batch& batch, int64_t global_size,
                                             LossScaler* scaler, DataParallel* parallel,
                                             distributed::GradientSync::Flags& flags) {
  optimizer.zero_grad();
  at::Tensor logits = network.forward(batch.images);
  at::Tensor loss = loss_of(logits, batch.labels);
  (scaler ? scaler->scaled(loss) : loss).backward();
  if (parallel) {
    flags =
        parallel->sync.average(batch.labels.size(0), global_size, stop_signal.load() != 0, loss);
  }
  if (scaler)
    scaler->step(optimizer);
  else
    optimizer.step();
  return {loss, logits};
}

// Whether the epoch stops after this step: a rank's flags (all ranks have the same), else a
// non-finite loss (read back every kDivergenceCheckEvery steps) or a signal.
bool stops(Sums& sums, int64_t steps, const distributed::GradientSync::Flags& flags,
           bool parallel) {
  if (parallel) {
    if (flags.diverged) sums.diverged_step.fill_(steps);
    return flags.diverged || flags.stop;
  }
  if (steps % kDivergenceCheckEvery == 0 && sums.diverged_step.item<int64_t>() >= 0) return true;
  return stop_signal.load() != 0;
}

}  // namespace

EpochResult train_epoch(nn::Network& network, torch::optim::Optimizer& optimizer,
                        const metrics::LossFn& loss_of, const data::Split& split,
                        const data::BatchOptions& options, const EpochState& from,
                        Progress& progress, DataParallel* parallel) {
  train_mode(network);
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
    distributed::GradientSync::Flags flags;
    const auto [loss, logits] =
        train_step(network, optimizer, loss_of, batch, batches.global_size(),
                   scaler ? &*scaler : nullptr, parallel, flags);
    sums.add(loss, logits, batch.labels);
    s.examples += batch.labels.size(0);
    sums.watch(loss, ++s.steps);
    if (progress.due()) {
      double done_seconds = s.seconds + seconds_since(start);
      progress.update(s.steps, sums.loss.item<double>() / double(s.examples),
                      double(s.examples - from.examples) / (done_seconds - from.seconds));
    }
    if (stops(sums, s.steps, flags, parallel != nullptr)) break;
  }
  s.seconds += seconds_since(start);
  s.data_seconds += data_seconds;
  if (scaler) s.scaling = scaler->state();
  sums.read_into(s);
  if (parallel) sum_over(parallel->group, s);
  if (s.diverged_step >= 0) result.finished = false;
  progress.finish_epoch();
  return result;
}

at::Tensor logits(nn::Network& network, const at::Tensor& images) {
  c10::InferenceMode inference;
  network.body->eval();
  at::Tensor out = network.forward(images);
  train_mode(network);
  return out;
}

at::Tensor predict(nn::Network& network, const at::Tensor& images) {
  return logits(network, images).argmax(1);
}

Evaluation evaluate(nn::Network& network, const metrics::LossFn& loss_of, const data::Split& split,
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
    sums.add(loss_of(logits, batch.labels), logits, batch.labels);
    confusion.add_(at::bincount(batch.labels * classes + logits.argmax(1), {}, classes * classes));
    examples += batch.labels.size(0);
  }
  EpochState totals;
  sums.read_into(totals);
  totals.examples = examples;
  if (group) {
    sum_over(*group, totals);
    confusion = confusion.to(at::kCPU);
    group->allreduce_sum(confusion);
  }
  train_mode(network);
  return Evaluation{totals.figures(), seconds_since(start),
                    confusion.reshape({classes, classes}).to(at::kCPU)};
}

}  // namespace dlx::train
