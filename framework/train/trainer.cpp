#include "framework/train/trainer.h"

#include "framework/train/optim.h"

#include <ATen/ops/bincount.h>
#include <ATen/ops/full.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <optional>
#include <tuple>

#include "framework/metrics/metric.h"
#include "framework/train/ema.h"
#include "framework/train/mix.h"

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
// for the loss and one for each recorded metric that has a batch sum.
struct Sums {
  at::Tensor loss, diverged_step;
  std::vector<std::pair<const metrics::MetricEntry*, at::Tensor>> metric;
  Sums(c10::Device device, const EpochState& from,
       const std::vector<const metrics::MetricEntry*>& measured)
      : loss(at::full({}, from.loss_sum, at::TensorOptions().dtype(at::kDouble).device(device))),
        diverged_step(
            at::full({}, from.diverged_step, at::TensorOptions().dtype(at::kLong).device(device))) {
    for (const metrics::MetricEntry* m : measured) {
      if (!m->batch_sum) continue;
      auto it = from.metric_sums.find(m->name);
      const double start = it == from.metric_sums.end() ? 0.0 : it->second;
      metric.emplace_back(m, at::full({}, start, loss.options()));
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

// Where a batch stands in its optimizer update: accumulation adds the gradients of `size`
// batches, each loss divided by `size`, so the update is that of one batch `size` times larger.
struct UpdateSlot {
  int64_t size = 1;
  bool first = true, last = true;
  UpdateSlot(int64_t step, int64_t accumulate, int64_t batches) {
    const int64_t start = step / accumulate * accumulate;
    size = std::min(accumulate, batches - start);
    first = step == start, last = step + 1 == start + size;
  }
};

// Forward, loss and backward of one batch, mixed as the recipe says, its gradients averaged over
// the ranks; `flags` gets what the ranks agreed. Returns the batch's loss and logits, and the
// labels its metrics count: a mixed image's larger share (timm and torchvision report no training
// accuracy with mixing; against the unmixed label it would sit near half).
std::tuple<at::Tensor, at::Tensor, at::Tensor> forward_backward(
    nn::Network& network, const metrics::LossFn& loss_of, const data::Batch& batch,
    const StepRecipe& r, const UpdateSlot& slot, const EpochState& s, int64_t global_size,
    LossScaler* scaler, DataParallel* parallel, distributed::GradientSync::Flags& flags) {
  const MixedBatch mixed =
      r.mix.on() ? mix_batch(batch.images, batch.labels, r.classes, r.mix, r.seed, s.epoch, s.steps)
                 : MixedBatch{batch.images, batch.labels, 1.0};
  at::Tensor logits = network.forward(mixed.images);
  at::Tensor loss = loss_of(logits, mixed.targets);
  const at::Tensor share = slot.size > 1 ? loss / double(slot.size) : loss;
  (scaler ? scaler->scaled(share) : share).backward();
  if (parallel) {
    flags =
        parallel->sync.average(batch.labels.size(0), global_size, stop_signal.load() != 0, loss);
  }
  const at::Tensor counted = mixed.share >= 0.5 ? batch.labels : batch.labels.roll(1, 0);
  return {loss, logits, counted};
}

// The optimizer's update (or a skipped one, with loss scaling) after the slot's last batch: the
// per-step lr, clipping (of the unscaled gradients), the step, and the EMA.
void update(nn::Network& network, torch::optim::Optimizer& optimizer, const StepRecipe& r,
            int64_t update_index, int64_t updates, int64_t epoch, LossScaler* scaler) {
  if (r.before_update)
    r.before_update(double(epoch - 1) + double(update_index) / double(updates), updates);
  const bool clips = r.clip_norm > 0 || r.clip_value > 0;
  auto clip = [&] { clip_gradients(network.body->parameters(), r.clip_norm, r.clip_value); };
  if (scaler) {
    scaler->step(optimizer, clips ? std::function<void()>(clip) : std::function<void()>());
  } else {
    if (clips) clip();
    optimizer.step();
  }
  if (r.ema && update_index % r.ema_every == 0)
    r.ema->update(network, update_index <= r.ema_copy_through);
}

// Whether the epoch stops after this step: a rank's flags (all ranks have the same), else a
// non-finite loss (read back every kDivergenceCheckEvery steps) or a signal, which waits for the
// end of an update (`between_updates`).
bool stops(Sums& sums, int64_t steps, const distributed::GradientSync::Flags& flags, bool parallel,
           bool between_updates) {
  if (parallel) {
    if (flags.diverged) sums.diverged_step.fill_(steps);
    return flags.diverged || (flags.stop && between_updates);
  }
  if (steps % kDivergenceCheckEvery == 0 && sums.diverged_step.item<int64_t>() >= 0) return true;
  return between_updates && stop_signal.load() != 0;
}

// Gradients dropped rather than zeroed (PyTorch 2's zero_grad(set_to_none=True)): the backward
// pass then writes each one instead of adding it to zeros, and nothing fills them with zeros first.
// Every reader of a gradient (the optimizers, clipping, loss scaling, the gradient sync) skips
// or fills an undefined one.
void drop_gradients(torch::optim::Optimizer& optimizer) {
  for (auto& group : optimizer.param_groups())
    for (auto& p : group.params()) p.mutable_grad().reset();
}

}  // namespace

// Without .item(): no step waits on the device.
void clip_gradients(const std::vector<at::Tensor>& parameters, double max_norm, double max_value) {
  std::vector<at::Tensor> grads;
  for (const auto& p : parameters)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return;
  if (max_value > 0)
    for (auto& g : grads) g.clamp_(-max_value, max_value);
  if (max_norm <= 0) return;
  std::vector<at::Tensor> norms;
  for (const auto& g : grads) norms.push_back(g.norm(2));
  const at::Tensor total = at::stack(norms).norm(2);
  const at::Tensor coef = (max_norm / (total + 1e-6)).clamp_max(1.0);
  for (auto& g : grads) g.mul_(coef.to(g.scalar_type()));
}

EpochResult train_epoch(nn::Network& network, torch::optim::Optimizer& optimizer,
                        const metrics::LossFn& loss_of, const data::Split& split,
                        const data::BatchOptions& options, const EpochState& from,
                        Progress& progress, const StepRecipe& recipe, DataParallel* parallel) {
  train_mode(network);
  data::BatchIterator batches(split, options, from.epoch, from.steps);
  const int64_t count = batches.count();
  const int64_t updates = updates_per_epoch(count, recipe.accumulate);
  progress.start_epoch(from.epoch, count);
  Sums sums(options.device, from, recipe.metrics);
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
    const UpdateSlot slot(s.steps, recipe.accumulate, count);
    if (slot.first) drop_gradients(optimizer);
    distributed::GradientSync::Flags flags;
    const auto [loss, logits, counted] =
        forward_backward(network, loss_of, batch, recipe, slot, s, batches.global_size(),
                         scaler ? &*scaler : nullptr, parallel, flags);
    if (slot.last)
      update(network, optimizer, recipe, s.steps / recipe.accumulate, updates, s.epoch,
             scaler ? &*scaler : nullptr);
    sums.add(loss, logits, counted);
    s.examples += batch.labels.size(0);
    sums.watch(loss, ++s.steps);
    if (progress.due()) {
      double done_seconds = s.seconds + seconds_since(start);
      progress.update(s.steps, sums.loss.item<double>() / double(s.examples),
                      double(s.examples - from.examples) / (done_seconds - from.seconds));
    }
    // An update's batches are never split by a signal: their gradients live in memory only.
    if (stops(sums, s.steps, flags, parallel != nullptr, slot.last)) break;
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
                    const data::BatchOptions& options, int64_t classes, distributed::Group* group,
                    const std::vector<const metrics::MetricEntry*>& measured) {
  c10::InferenceMode inference;
  network.body->eval();
  data::BatchOptions in_order = options;
  in_order.shuffle = false;
  in_order.augmenting = false;
  data::BatchIterator batches(split, in_order, 0);
  Sums sums(options.device, EpochState{}, measured);
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
  Evaluation out{totals.figures(), seconds_since(start),
                 confusion.reshape({classes, classes}).to(at::kCPU)};
  for (const metrics::MetricEntry* m : measured)
    if (m->of_confusion) out.figures[m->name] = m->of_confusion(out.confusion);
  return out;
}

}  // namespace dlx::train
