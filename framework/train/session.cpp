#include "framework/train/session.h"

#include <ATen/Context.h>
#include <fmt/format.h>

#include <csignal>
#include <limits>
#include <optional>
#include <ostream>

#include "framework/core/error.h"
#include "framework/core/files.h"
#include "framework/core/system.h"
#include "framework/data/dataset.h"
#include "framework/experiment/experiment.h"
#include "framework/metrics/loss.h"
#include "framework/metrics/metric.h"
#include "framework/report/curves.h"
#include "framework/train/checkpoint.h"
#include "framework/train/ema.h"
#include "framework/train/environment.h"
#include "framework/train/gpu_memory.h"
#include "framework/train/judge.h"
#include "framework/train/optim.h"
#include "framework/train/progress.h"
#include "framework/train/signals.h"
#include "framework/train/trainer.h"

namespace dlx::train {

namespace fs = std::filesystem;
using report::RunStatus;

namespace {

// The last evaluation's confusion matrix and per-class figures, named by class.
report::ClassRecord class_record(const at::Tensor& confusion,
                                 const std::vector<std::string>& names) {
  report::ClassRecord record;
  record.names = names;
  auto counts = confusion.accessor<int64_t, 2>();
  for (int64_t t = 0; t < confusion.size(0); ++t)
    record.confusion_matrix.emplace_back(counts[t].data(), counts[t].data() + confusion.size(1));
  const metrics::ClassScores scores = metrics::class_scores(confusion);
  record.per_class_accuracy = scores.recall;
  record.precision = scores.precision, record.f1 = scores.f1;
  record.macro_precision = scores.macro_precision, record.macro_recall = scores.macro_recall;
  record.macro_f1 = scores.macro_f1;
  return record;
}

std::string epoch_line(const report::EpochRecord& r, int64_t epochs, const c10::Device& device) {
  const std::string val = r.val_acc ? fmt::format(", val acc {:.3f}", *r.val_acc) : "";
  if (!r.train_loss)
    return fmt::format("the starting weights (no training): test loss {:.3f}, test acc {:.3f}{}",
                       r.test_loss, r.test_acc, val);
  return fmt::format(
      "epoch {}/{}: loss {:.3f}, train acc {:.3f}{}, test acc {:.3f}, {:.1f} examples/sec on {}",
      r.epoch, epochs, *r.train_loss, r.train_acc.value_or(0.0), val, r.test_acc,
      r.examples_per_sec, device.str());
}

// Conv weights in NHWC order, matching channels-last images: oneDNN then skips its reorders.
void to_channels_last(nn::Network& net) {
  for (auto& p : net.body->parameters()) {
    if (p.dim() == 4) p.set_data(p.data().contiguous(at::MemoryFormat::ChannelsLast));
  }
}

// Joins the other ranks of a data-parallel run (none for a world of 1).
std::unique_ptr<distributed::Group> join(const RunOptions& options) {
  if (options.rendezvous.world <= 1) return nullptr;
  return std::make_unique<distributed::Group>(options.rendezvous, options.dist_timeout);
}

// With a group: every rank starts from rank 0's state, takes its part of each step, and averages
// gradients after every backward. Without one: nothing.
std::optional<DataParallel> data_parallel(distributed::Group* group, nn::Network& net,
                                          data::BatchOptions& batching) {
  if (!group) return std::nullopt;
  std::vector<at::Tensor> state = net.body->parameters();
  for (const auto& b : net.body->buffers()) state.push_back(b);
  distributed::GradientSync::broadcast_state(*group, state);
  batching.rank = group->rank(), batching.world = group->world();
  return DataParallel{*group, distributed::GradientSync(*group, net.body->parameters())};
}

// An epoch's evaluation figures; with `fit` (none for epoch 0), its training figures too.
report::EpochRecord epoch_record(const EpochState* fit, const Evaluation& test,
                                 const std::optional<Evaluation>& val, double lr) {
  report::EpochRecord r;
  if (val)
    for (const auto& [name, value] : val->figures) r.set("val_" + name, value);
  for (const auto& [name, value] : test.figures) r.set("test_" + name, value);
  r.eval_seconds = test.seconds + (val ? val->seconds : 0.0);
  if (!fit) return r;
  r.epoch = fit->epoch;
  for (const auto& [name, value] : fit->figures()) r.set("train_" + name, value);
  r.lr = lr;
  r.seconds = fit->seconds;
  r.examples_per_sec = double(fit->examples) / fit->seconds;
  r.data_seconds = fit->data_seconds;
  if (fit->scaling.on())
    r.loss_scale = fit->scaling.scale, r.skipped_steps = fit->scaling.skipped_steps;
  return r;
}

int exit_code_for(RunStatus status) {
  switch (status) {
    case RunStatus::kCompleted:
      return 0;
    case RunStatus::kDiverged:
      return 3;
    case RunStatus::kInterrupted:
      return 128 + (stop_signal.load() ? stop_signal.load() : SIGINT);
    case RunStatus::kRunning:
    case RunStatus::kFailed:
      break;
  }
  return 1;
}

}  // namespace

nn::Network seeded_network(const config::ExperimentSpec& spec) {
  at::manual_seed(static_cast<uint64_t>(spec.train.seed));
  nn::Network net = experiment::build_network(spec);
  init_weights(net, spec.train.init);
  return net;
}

Session::Session(config::ExperimentSpec& spec, const RunOptions& options, std::ostream& out)
    : spec_(spec),
      options_(options),
      out_(out),
      judge_(spec.train, data::has_validation(spec.data)) {}

Session::~Session() = default;

void Session::save() {
  if (!writes()) return;
  report::write_run_report(folder, report);
  write_file_atomic(folder / "curves.svg", report::curves_svg(report.epochs, spec_.name));
  if (report.test_classes)
    write_file_atomic(folder / "classes.svg",
                      report::classes_svg(*report.test_classes, spec_.name));
  if (!signals_) return;
  report::RunReport stopped = report;
  stopped.status = RunStatus::kInterrupted;
  stopped.error = "stopped at once by a second signal";
  signals_->prepare(
      folder, stopped.to_json().dump(2, ' ', false, report::Json::error_handler_t::replace) + "\n");
}

// What one call of Session::train works with, in the order it is made.
struct Session::Loop {
  std::unique_ptr<distributed::Group> group;  // data-parallel ranks; none for one process
  data::Dataset dataset;
  std::vector<ParamGroup> groups;  // the optimizer's, with their lr multipliers
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  metrics::LossFn loss;
  data::BatchOptions batching;
  std::optional<DataParallel> parallel;
  std::unique_ptr<report::MetricsLog> metrics;
  std::unique_ptr<Progress> progress;
  EpochState state;
  StepRecipe recipe;
  std::unique_ptr<Ema> ema;  // with train.ema
};

// The recipe of every step: the metrics recorded (train.metrics and early stopping's), mixing,
// accumulation, clipping and, with a per-step schedule, the lr before each update.
void Session::prepare_steps(nn::Network& net, Loop& loop, bool resuming) {
  const config::TrainSpec& t = spec_.train;
  StepRecipe& r = loop.recipe;
  std::vector<std::string> names = t.metrics;
  const auto stop = metrics::parse_metric(t.early_stopping.metric);
  if (stop && stop->metric->name != "loss") names.push_back(stop->metric->name);
  r.metrics = metrics::recorded_metrics(names, loop.dataset.classes(), "train.metrics",
                                        spec_.locate("train.metrics"));
  r.mix = t.mix, r.classes = loop.dataset.classes(), r.seed = uint64_t(t.seed);
  r.accumulate = t.accumulate, r.clip_norm = t.clip_grad_norm, r.clip_value = t.clip_grad_value;
  if (t.scheduler.per_step)
    r.before_update = [this, &loop](double done, int64_t updates) {
      set_lr(*loop.optimizer, lr_at(spec_.train, done, double(updates)), loop.groups);
    };
  if (!t.ema.on()) return;
  const int64_t ranks = loop.parallel ? loop.parallel->group.world() : 1;
  loop.ema = std::make_unique<Ema>(net, ema_decay(t.ema, spec_.data.batch_size, ranks, t.epochs));
  if (resuming && fs::exists(ema_weights_file(folder)))
    loop.ema->set(read_weights(ema_weights_file(folder)));
  r.ema = loop.ema.get(), r.ema_every = t.ema.steps;
}

// Where training resumes: checkpoint_ema.pt (with train.ema) before checkpoint.pt and
// train_state.pt, whose fingerprint seals the pair.
void Session::save_state(nn::Network& net, Loop& loop, const EpochState& next) {
  if (!writes()) return;
  if (loop.ema) {
    loop.ema->swap(net);
    save_weights(ema_weights_file(folder), net);
    loop.ema->swap(net);
  }
  save_checkpoint(folder, net, *loop.optimizer, next);
}

data::Dataset Session::load_data() {
  const auto loading = std::chrono::steady_clock::now();
  data::Dataset dataset = data::load_dataset(spec_.data, uint64_t(spec_.train.seed));
  const int64_t val_size = dataset.has_validation() ? dataset.val.size() : 0;
  report::DataRecord& record = report.data.emplace();
  record.dataset = dataset.name, record.source = dataset.source;
  record.train_examples = dataset.train.size(), record.test_examples = dataset.test.size();
  record.val_examples = val_size, record.class_names = dataset.class_names;
  record.image_size = dataset.image_size();
  record.load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - loading).count();
  record.cache = dataset.cache, record.cache_bytes = dataset.cache_bytes;
  record.skipped_files = dataset.skipped;
  record.mean = dataset.normalize.mean, record.std = dataset.normalize.std;
  out_ << fmt::format("data: {} from {}: {} train, {}{} test examples{}{}", dataset.name,
                      dataset.source, dataset.train.size(),
                      val_size ? std::to_string(val_size) + " validation, " : "",
                      dataset.test.size(),
                      dataset.cache_bytes ? fmt::format(", {:.1f} MiB decoded in memory",
                                                        double(dataset.cache_bytes) / (1 << 20))
                                          : "",
                      dataset.skipped.empty()
                          ? ""
                          : fmt::format(", {} bad files skipped", dataset.skipped.size()))
       << std::endl;
  return dataset;
}

// The network on its device, in its memory format and precision.
void Session::place(nn::Network& net) {
  reset_peak_gpu_memory(device);
  net.body->to(device);
  if (spec_.train.channels_last) to_channels_last(net);
  std::string note;
  net.precision = usable_precision(spec_.train.precision, device, &note);
  if (!note.empty()) out_ << "note: " << note << std::endl;
  report.environment.precision = config::choice_name(net.precision);
  at::globalContext().setBenchmarkCuDNN(spec_.train.cudnn_benchmark);
}

// Where training starts: the folder's training state when resuming (dropping the epochs recorded
// after it), else the first epoch.
EpochState Session::starting_state(const nn::Network& net, torch::optim::Optimizer& optimizer,
                                   bool resuming) {
  EpochState state;
  if (resuming) {
    state = load_train_state(folder, optimizer, device);
    // Epochs after the checkpoint (written before a crash) are dropped.
    report.epochs = report::read_metrics(folder / "metrics.jsonl", state.epoch);
    std::string kept;
    for (const auto& e : report.epochs) kept += e.to_json().dump() + "\n";
    write_file_atomic(folder / "metrics.jsonl", kept);
    out_ << fmt::format("resuming at epoch {}, step {}", state.epoch, state.steps) << std::endl;
  } else if (net.precision == config::PrecisionKind::kFp16) {
    state.scaling.scale = LossScaleOptions{}.init_scale;
  }
  return state;
}

RunStatus Session::train(nn::Network& net, bool resuming) {
  Loop loop;
  loop.group = join(options_);
  loop.dataset = load_data();
  place(net);
  loop.groups = parameter_groups(spec_, net);
  loop.optimizer = make_optimizer(spec_.train.optimizer, loop.groups);
  loop.loss = metrics::make_loss(spec_.train.loss, spec_.locate("train.loss.type"));
  loop.state = starting_state(net, *loop.optimizer, resuming);
  loop.metrics = std::make_unique<report::MetricsLog>(writes() ? folder / "metrics.jsonl"
                                                               : fs::path("/dev/null"));
  loop.batching = data::batch_options(spec_.data, device, loop.dataset.normalize,
                                      /*training=*/true, uint64_t(spec_.train.seed));
  loop.batching.channels_last = spec_.train.channels_last;
  if (auto ranks = data_parallel(loop.group.get(), net, loop.batching))
    loop.parallel.emplace(std::move(*ranks));
  prepare_steps(net, loop, resuming);
  if (spec_.train.epochs == 0) return evaluate_only(net, loop);
  loop.progress = std::make_unique<Progress>(options_.live_progress, spec_.train.epochs);
  while (loop.state.epoch <= spec_.train.epochs) {
    if (auto ended = epoch(net, loop)) return *ended;
  }
  return RunStatus::kCompleted;
}

// One epoch: trains it, then evaluates, records and judges it. A status ends the run.
std::optional<RunStatus> Session::epoch(nn::Network& net, Loop& loop) {
  const double lr = scheduled_lr(spec_.train, loop.state.epoch);
  set_lr(*loop.optimizer, lr, loop.groups);
  apply_freeze(spec_.train, net, loop.state.epoch);
  // torchvision restarts the average after every update of its warm-up epochs.
  const int64_t warm = spec_.train.scheduler.warmup_epochs, e = loop.state.epoch;
  loop.recipe.ema_copy_through =
      e <= warm ? std::numeric_limits<int64_t>::max() : (e == warm + 1 ? 0 : -1);
  EpochResult fit =
      train_epoch(net, *loop.optimizer, loop.loss, loop.dataset.train, loop.batching, loop.state,
                  *loop.progress, loop.recipe, loop.parallel ? &*loop.parallel : nullptr);
  if (fit.state.diverged_step >= 0) {
    report.diverged_at = report::Position{fit.state.epoch, fit.state.diverged_step};
    out_ << fmt::format("diverged: the loss is not finite at epoch {}, step {}", fit.state.epoch,
                        fit.state.diverged_step)
         << std::endl;
    return RunStatus::kDiverged;
  }
  if (!fit.finished) {
    save_state(net, loop, fit.state);
    report.interrupted_at = report::Position{fit.state.epoch, fit.state.steps};
    return RunStatus::kInterrupted;
  }
  const report::EpochRecord& record = record_epoch(net, loop, &fit.state, lr);
  loop.state = fit.state.next_epoch();
  save_state(net, loop, loop.state);
  report.stopped_early = judge_.stop_reason(report.epochs);
  save();
  if (!report.stopped_early.empty()) {
    out_ << "stopping early: " << report.stopped_early << std::endl;
    return RunStatus::kCompleted;
  }
  if (record.epoch == options_.stop_after && record.epoch < spec_.train.epochs) {
    report.interrupted_at = report::Position{loop.state.epoch, 0};
    report.stopped_early = fmt::format("paused after epoch {} (--stop-after)", record.epoch);
    out_ << report.stopped_early << std::endl;
    paused_ = true;
    return RunStatus::kInterrupted;
  }
  return std::nullopt;
}

// train.epochs: 0 (torchvision's --test-only): the starting weights evaluated as epoch 0 and kept
// as the run's checkpoint, so that predict and export use them and a resume with more epochs
// trains from them.
RunStatus Session::evaluate_only(nn::Network& net, Loop& loop) {
  record_epoch(net, loop, nullptr, 0.0);
  save_state(net, loop, loop.state);
  save();
  return RunStatus::kCompleted;
}

// Evaluates a trained epoch on the test (and validation) split, records it in metrics.jsonl and
// the report, prints its line, and keeps its weights when it is the selected epoch.
const report::EpochRecord& Session::record_epoch(nn::Network& net, Loop& loop,
                                                 const EpochState* fit, double lr) {
  const data::Dataset& d = loop.dataset;
  auto measure = [&](const data::Split& split) {
    return evaluate(net, loop.loss, split, loop.batching, d.classes(), loop.group.get(),
                    loop.recipe.metrics);
  };
  Evaluation test = measure(d.test);
  std::optional<Evaluation> val;
  if (d.has_validation()) val = measure(d.val);
  report.epochs.push_back(epoch_record(fit, test, val, lr));
  report::EpochRecord& record = report.epochs.back();
  if (loop.ema && fit) {
    // The average evaluated beside the live weights: ema_test_acc, ema_val_loss, ...
    loop.ema->swap(net);
    std::optional<Evaluation> ema_val;
    if (d.has_validation()) ema_val = measure(d.val);
    const report::EpochRecord averaged = epoch_record(nullptr, measure(d.test), ema_val, 0.0);
    loop.ema->swap(net);
    for (const auto& split : {"test_", "val_"})
      for (const metrics::MetricEntry* m : loop.recipe.metrics)
        for (const auto& name : {std::string(split) + m->name, std::string(split) + "loss"})
          if (const auto v = averaged.value(name)) record.set("ema_" + name, *v);
    record.eval_seconds += averaged.eval_seconds;
  }
  if (writes()) loop.metrics->append(record);
  out_ << epoch_line(record, spec_.train.epochs, device) << std::endl;
  report.test_classes = class_record(test.confusion, d.class_names);
  if (writes() && judge_.keeps_best() && judge_.last_is_selected(report.epochs)) {
    if (judge_.keeps_ema() && loop.ema) loop.ema->swap(net);
    save_weights(best_weights_file(folder), net);
    if (judge_.keeps_ema() && loop.ema) loop.ema->swap(net);
  }
  return record;
}

void Session::finish(RunStatus status, const std::string& error) {
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  report.status = status;
  report.error = error;
  report.environment.ended = utc_now();
  report.final = report.summarize(earlier_wall_seconds + wall, judge_.selected(report.epochs),
                                  judge_.select_by());
  report.final->peak_rss_mib = peak_rss_mib();
  if (const auto gpu = peak_gpu_memory(device)) {
    report.final->peak_gpu_allocated_mib = gpu->allocated_mib;
    report.final->peak_gpu_reserved_mib = gpu->reserved_mib;
  }
  save();
}

RunOutcome Session::execute(nn::Network& net, bool resuming) {
  if (device.is_cpu() && is_reference_blas(loaded_blas())) {
    out_
        << "warning: LibTorch is using the reference BLAS, which is ~40x slower; run tools/setup\n";
  }
  RunStatus status = RunStatus::kFailed;
  std::string error;
  {
    StopOnSignal stop;
    signals_ = &stop;
    save();
    try {
      status = train(net, resuming);
    } catch (const std::exception& e) {
      status = RunStatus::kFailed, error = error_message(e);
    }
    finish(status, error);
    signals_ = nullptr;
  }
  const report::FinalRecord& final = *report.final;
  if (status != RunStatus::kDiverged && final.last && final.last->train_loss) {
    out_ << fmt::format(
        "loss {:.3f}, train acc {:.3f}, test acc {:.3f}\n{:.1f} examples/sec on {}\n",
        *final.last->train_loss, final.last->train_acc.value_or(0.0), final.last->test_acc,
        final.mean_examples_per_sec, device.str());
  }
  out_ << "status: " << report::status_name(status) << (error.empty() ? "" : " (" + error + ")")
       << "; report: " << (folder / "report.json").string() << std::endl;
  return RunOutcome{status, folder, paused_ ? 0 : exit_code_for(status), error};
}

}  // namespace dlx::train
