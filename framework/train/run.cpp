#include "framework/train/run.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <ostream>

#include "framework/core/error.h"
#include "framework/core/files.h"
#include "framework/core/system.h"
#include "framework/data/dataset.h"
#include "framework/dist/group.h"
#include "framework/nn/builder.h"
#include "framework/report/curves.h"
#include "framework/report/report.h"
#include "framework/report/run_folder.h"
#include "framework/train/checkpoint.h"
#include "framework/train/optim.h"
#include "framework/train/signals.h"
#include "framework/train/trainer.h"

namespace dlx::train {

namespace fs = std::filesystem;
using report::Json;

c10::Device resolve_device(const std::string& name) {
  if (name == "cpu") return c10::kCPU;
  const bool available = torch::cuda::is_available();
  if (name == "auto") return available ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  c10::Device device(name);
  if (!available)
    throw RuntimeError("train.device is " + name + " but no CUDA device is available");
  if (device.has_index() && device.index() >= static_cast<int>(torch::cuda::device_count())) {
    throw RuntimeError("train.device is " + name + " but only " +
                       std::to_string(torch::cuda::device_count()) + " CUDA device(s) exist");
  }
  return device.has_index() ? device : c10::Device(c10::kCUDA, 0);
}

int configure_threads(int64_t requested) {
  int threads = requested > 0 ? static_cast<int>(requested) : physical_cores();
  // OpenBLAS's OpenMP build (what tools/setup selects) follows the OpenMP setting below; BLIS,
  // should a user select it, reads its thread count once from the environment.
  setenv("BLIS_NUM_THREADS", std::to_string(threads).c_str(), /*overwrite=*/0);
  at::set_num_threads(threads);
  return threads;
}

namespace {

Json model_json(const nn::Network& net, const std::string& name) {
  Json layers = Json::array();
  for (const auto& l : net.layers) {
    layers.push_back({{"name", l.name},
                      {"type", l.type},
                      {"output_shape", l.output},
                      {"parameters", l.parameters},
                      {"macs", l.macs}});
  }
  return {{"name", name},
          {"input", net.input},
          {"parameters", net.parameters()},
          {"macs_per_example", net.macs()},
          {"layers", layers}};
}

std::string gpu_name(const c10::Device& device) {
  const std::string name = cuda_device_name(device.has_index() ? device.index() : 0);
  return name.empty() ? "CUDA device " + device.str() : name;
}

Json environment_json(const c10::Device& device, int threads) {
  return {{"dlx_version", DLX_VERSION},
          {"libtorch_version", TORCH_VERSION},
          {"device", device.str()},
          {"device_name", device.is_cpu() ? cpu_model() : gpu_name(device)},
          {"threads", threads},
          {"blas", loaded_blas()},
          {"host", host_name()},
          {"started", utc_now()},
          {"ended", nullptr}};
}

Json final_json(const Json& epochs, double wall_seconds) {
  Json final = epochs.empty() ? Json::object() : epochs.back();
  double examples = 0, seconds = 0, data_seconds = 0;
  Json best_acc = nullptr, best_epoch = nullptr;
  for (const auto& e : epochs) {
    examples += e["examples_per_sec"].get<double>() * e["seconds"].get<double>();
    seconds += e["seconds"].get<double>();
    data_seconds += e["data_seconds"].get<double>();
    if (best_acc.is_null() || e["test_acc"].get<double>() > best_acc.get<double>()) {
      best_acc = e["test_acc"], best_epoch = e["epoch"];
    }
  }
  final["best_test_acc"] = best_acc;
  final["best_epoch"] = best_epoch;
  final["wall_seconds"] = wall_seconds;
  final["mean_examples_per_sec"] = seconds > 0 ? examples / seconds : 0.0;
  // How much of training waited on data; the rest was compute.
  final["data_seconds"] = data_seconds;
  final["compute_seconds"] = seconds - data_seconds;
  final["peak_rss_mib"] = peak_rss_mib();
  return final;
}

// The last evaluation's confusion matrix and per-class accuracy, named by class.
Json class_report(const at::Tensor& confusion, const std::vector<std::string>& names) {
  Json matrix = Json::array(), accuracy = Json::object();
  auto counts = confusion.accessor<int64_t, 2>();
  for (int64_t t = 0; t < confusion.size(0); ++t) {
    Json row = Json::array();
    int64_t total = 0;
    for (int64_t p = 0; p < confusion.size(1); ++p)
      row.push_back(counts[t][p]), total += counts[t][p];
    matrix.push_back(row);
    accuracy[names[t]] = total ? double(counts[t][t]) / double(total) : 0.0;
  }
  return {{"names", names}, {"confusion_matrix", matrix}, {"per_class_accuracy", accuracy}};
}

std::string epoch_line(const report::EpochRecord& r, int64_t epochs, const c10::Device& device) {
  return fmt::format(
      "epoch {}/{}: loss {:.3f}, train acc {:.3f}, test acc {:.3f}, {:.1f} examples/sec on {}",
      r.epoch, epochs, r.train_loss, r.train_acc, r.test_acc, r.examples_per_sec, device.str());
}

// metrics.jsonl's epochs before `epoch`; later lines (written before a crash) are dropped.
Json epochs_before(const fs::path& metrics, int64_t epoch) {
  Json epochs = Json::array();
  std::ifstream in(metrics);
  std::string line;
  while (std::getline(in, line)) {
    Json record = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_object() && record.value("epoch", int64_t(0)) < epoch) epochs.push_back(record);
  }
  return epochs;
}

// Conv weights in NHWC order, matching channels-last images: oneDNN then skips its reorders.
void to_channels_last(nn::Network& net) {
  for (auto& p : net.body->parameters()) {
    if (p.dim() == 4) p.set_data(p.data().contiguous(at::MemoryFormat::ChannelsLast));
  }
}

// With a group: every rank starts from rank 0's state, takes its part of each step, and averages
// gradients after every backward. Without one: nothing.
std::optional<DataParallel> data_parallel(dist::Group* group, nn::Network& net,
                                          data::BatchOptions& batching) {
  if (!group) return std::nullopt;
  std::vector<at::Tensor> state = net.body->parameters();
  for (const auto& b : net.body->buffers()) state.push_back(b);
  dist::GradientSync::broadcast_state(*group, state);
  batching.rank = group->rank(), batching.world = group->world();
  return DataParallel{*group, dist::GradientSync(*group, net.body->parameters())};
}

// The network as a run starts it: built and initialised from the experiment's seed, which also
// seeds dropout and the rest of the run's draws from the global generator.
nn::Network seeded_network(const config::ExperimentSpec& spec) {
  at::manual_seed(static_cast<uint64_t>(spec.train.seed));
  nn::Network net = nn::build_network(spec);
  init_weights(net, spec.train.init);
  return net;
}

// The mutable state of one run, so that the loop and the bookkeeping around it stay short.
struct Run {
  Run(config::ExperimentSpec& spec_, const RunOptions& options_, std::ostream& out_)
      : spec(spec_), options(options_), out(out_) {}
  config::ExperimentSpec& spec;
  const RunOptions& options;
  std::ostream& out;
  fs::path folder;
  c10::Device device = c10::kCPU;
  Json report;
  double earlier_wall_seconds = 0;  // of the sessions before a resume
  StopOnSignal* signals = nullptr;
  // Data parallelism: only rank 0 writes files; the other ranks train and keep quiet.
  bool writes() const { return !options.group || options.group->rank() == 0; }
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  void save();
  std::string train(nn::Network& net, bool resuming);
  void record_epoch(const EpochState& fit, const Evaluation& test, double lr,
                    report::MetricsLog& metrics);
  void checkpoint(nn::Network& net, torch::optim::Optimizer& optimizer, const EpochState& state) {
    if (writes()) save_checkpoint(folder, net, optimizer, state);
  }
  void finish(const std::string& status, const std::string& error);
  RunOutcome execute(nn::Network& net, bool resuming);
};

void Run::save() {
  if (!writes()) return;
  report::write_report(folder, report);
  write_file_atomic(folder / "curves.svg", report::curves_svg(report["epochs"], spec.name));
  if (report.contains("test_classes"))
    write_file_atomic(folder / "classes.svg",
                      report::classes_svg(report["test_classes"], spec.name));
  if (!signals) return;
  Json stopped = report;
  stopped["status"] = "interrupted";
  stopped["error"] = "stopped at once by a second signal";
  signals->prepare(folder, stopped.dump(2, ' ', false, Json::error_handler_t::replace) + "\n");
}

void Run::record_epoch(const EpochState& fit, const Evaluation& test, double lr,
                       report::MetricsLog& metrics) {
  report::EpochRecord record{fit.epoch,        fit.mean_loss(),
                             fit.accuracy(),   test.loss,
                             test.accuracy,    lr,
                             fit.seconds,      double(fit.examples) / fit.seconds,
                             fit.data_seconds, test.seconds};
  if (writes()) metrics.append(record);
  report["epochs"].push_back(record.to_json());
  out << epoch_line(record, spec.train.epochs, device) << std::endl;
}

std::string Run::train(nn::Network& net, bool resuming) {
  data::Dataset dataset = data::load_dataset(spec.data);
  report["data"] = {{"dataset", dataset.name},
                    {"source", dataset.source},
                    {"train_examples", dataset.train.size()},
                    {"test_examples", dataset.test.size()},
                    {"class_names", dataset.class_names}};
  out << fmt::format("data: {} from {}: {} train, {} test examples", dataset.name, dataset.source,
                     dataset.train.size(), dataset.test.size())
      << std::endl;
  net.body->to(device);
  if (spec.train.channels_last) to_channels_last(net);
  at::globalContext().setBenchmarkCuDNN(spec.train.cudnn_benchmark);
  auto optimizer = make_optimizer(spec.train.optimizer, net.body->parameters());
  EpochState state;
  if (resuming) {
    state = load_train_state(folder, *optimizer, device);
    report["epochs"] = epochs_before(folder / "metrics.jsonl", state.epoch);
    std::string kept;
    for (const auto& e : report["epochs"]) kept += e.dump() + "\n";
    write_file_atomic(folder / "metrics.jsonl", kept);
    out << fmt::format("resuming at epoch {}, step {}", state.epoch, state.steps) << std::endl;
  }
  report::MetricsLog metrics(writes() ? folder / "metrics.jsonl" : fs::path("/dev/null"));
  data::BatchOptions batching{
      spec.data.batch_size,    true,   static_cast<uint64_t>(spec.train.seed),
      spec.data.resize,        device, spec.data.prefetch,
      spec.train.channels_last};
  std::optional<DataParallel> parallel = data_parallel(options.group, net, batching);
  DataParallel* ranks = parallel ? &*parallel : nullptr;
  Progress progress(options.live_progress, spec.train.epochs);
  while (state.epoch <= spec.train.epochs) {
    const double lr = scheduled_lr(spec.train, state.epoch);
    set_lr(*optimizer, lr);
    EpochResult fit = train_epoch(net, *optimizer, dataset.train, batching, state, progress, ranks);
    if (fit.state.diverged_step >= 0) {
      report["diverged_at"] = {{"epoch", fit.state.epoch}, {"step", fit.state.diverged_step}};
      out << fmt::format("diverged: the loss is not finite at epoch {}, step {}", fit.state.epoch,
                         fit.state.diverged_step)
          << std::endl;
      return "diverged";
    }
    if (!fit.finished) {
      checkpoint(net, *optimizer, fit.state);
      report["interrupted_at"] = {{"epoch", fit.state.epoch}, {"step", fit.state.steps}};
      return "interrupted";
    }
    Evaluation test = evaluate(net, dataset.test, batching, dataset.classes(), options.group);
    record_epoch(fit.state, test, lr, metrics);
    report["test_classes"] = class_report(test.confusion, dataset.class_names);
    state = EpochState{fit.state.epoch + 1};
    checkpoint(net, *optimizer, state);
    save();
  }
  return "completed";
}

void Run::finish(const std::string& status, const std::string& error) {
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  report["status"] = status;
  report["error"] = error.empty() ? Json(nullptr) : Json(error);
  report["environment"]["ended"] = utc_now();
  report["final"] = final_json(report["epochs"], earlier_wall_seconds + wall);
  save();
}

int exit_code_for(const std::string& status) {
  if (status == "completed") return 0;
  if (status == "diverged") return 3;
  if (status == "interrupted") return 128 + (stop_signal.load() ? stop_signal.load() : SIGINT);
  return 1;
}

RunOutcome Run::execute(nn::Network& net, bool resuming) {
  if (device.is_cpu() && is_reference_blas(loaded_blas())) {
    out << "warning: LibTorch is using the reference BLAS, which is ~40x slower; run tools/setup\n";
  }
  std::string status, error;
  {
    StopOnSignal stop;
    signals = &stop;
    save();
    try {
      status = train(net, resuming);
    } catch (const std::exception& e) {
      status = "failed", error = error_message(e);
    }
    finish(status, error);
    signals = nullptr;
  }
  const Json& final = report["final"];
  if (status != "diverged" && final.contains("train_loss")) {
    out << fmt::format(
        "loss {:.3f}, train acc {:.3f}, test acc {:.3f}\n{:.1f} examples/sec on {}\n",
        final["train_loss"].get<double>(), final["train_acc"].get<double>(),
        final["test_acc"].get<double>(), final["mean_examples_per_sec"].get<double>(),
        device.str());
  }
  out << "status: " << status << (error.empty() ? "" : " (" + error + ")")
      << "; report: " << (folder / "report.json").string() << std::endl;
  return RunOutcome{status, folder, exit_code_for(status), error};
}

}  // namespace

RunOutcome run_experiment(config::ExperimentSpec spec, const RunOptions& options,
                          std::ostream& out) {
  Json resolved = config::resolved_json(spec);
  Run run(spec, options, out);
  run.device = resolve_device(options.device.empty() ? spec.train.device : options.device);
  const int threads = configure_threads(options.threads ? options.threads : spec.train.threads);
  nn::Network net = seeded_network(spec);

  if (run.writes()) {
    run.folder = options.folder.empty() ? report::create_run_folder(options.runs_root, spec.name)
                                        : report::claim_run_folder(options.folder);
    write_file_atomic(run.folder / "config.yaml", config::to_yaml(resolved));
  }
  run.report = Json{{"schema", report::kSchema},
                    {"run_id", run.folder.filename().string()},
                    {"experiment", spec.name},
                    {"status", "running"},
                    {"error", nullptr},
                    {"config", resolved},
                    {"config_hash", config::config_hash(resolved)},
                    {"command", options.command},
                    {"environment", environment_json(run.device, threads)},
                    {"model", model_json(net, spec.model.name)},
                    {"epochs", Json::array()}};
  if (options.group) {
    run.report["environment"]["world_size"] = options.group->world();
    run.report["environment"]["backend"] = "gloo";
  }
  out << fmt::format("run: {} -> {}\nmodel: {}, {} parameters; device: {} ({} threads)", spec.name,
                     run.folder.string(), spec.model.name, net.parameters(), run.device.str(),
                     threads)
      << std::endl;
  return run.execute(net, false);
}

namespace {

Json read_report(const fs::path& folder) {
  Json report = Json::parse(read_file(folder / "report.json"), nullptr, false);
  if (!report.is_object() || report.value("schema", "") != report::kSchema) {
    throw RuntimeError((folder / "report.json").string() + ": not a dlx run report");
  }
  return report;
}

void check_resumable(const fs::path& folder, const Json& old, const Json& resolved, bool force) {
  const Location where{(folder / "config.yaml").string()};
  std::vector<std::string> changed = config::differing_keys(old["config"], resolved);
  if (!changed.empty() && !force) {
    throw ConfigError::plain(where, "",
                             "the config differs from the run's in " + join(changed) +
                                 "; pass --force to resume with it anyway");
  }
  const std::string status = old.value("status", "");
  if ((status == "completed" || status == "diverged") && !force) {
    throw ConfigError::plain(
        where, "", "the run is " + status + "; to train it longer, --set train.epochs=N --force");
  }
  // A data-parallel run's mid-epoch position counts steps of all its ranks' examples together.
  const int64_t world = old.contains("environment") ? old["environment"].value("world_size", 1) : 1;
  const bool mid_epoch =
      old.contains("interrupted_at") && old["interrupted_at"].value("step", 0) > 0;
  if (world > 1 && mid_epoch && !force) {
    throw ConfigError::plain(where, "",
                             "the run trained in " + std::to_string(world) +
                                 " processes and stopped mid-epoch, which one process cannot "
                                 "continue exactly; pass --force to continue anyway");
  }
}

}  // namespace

RunOutcome resume_run(const fs::path& folder, const std::vector<config::Override>& overrides,
                      bool force, const RunOptions& options, std::ostream& out) {
  Json old = read_report(folder);
  config::ExperimentSpec spec = config::load_experiment(folder / "config.yaml", overrides);
  Json resolved = config::resolved_json(spec);
  check_resumable(folder, old, resolved, force);

  Run run(spec, options, out);
  run.folder = folder;
  run.device = resolve_device(options.device.empty() ? spec.train.device : options.device);
  const int threads = configure_threads(options.threads ? options.threads : spec.train.threads);
  // train_state.pt is saved last: without it the run stopped before its first checkpoint, and
  // starting it over from its seed gives exactly what the uninterrupted run would have.
  const bool over = !fs::exists(folder / "train_state.pt");
  nn::Network net = over ? seeded_network(spec) : nn::build_network(spec);
  if (!over) load_weights(net, read_weights(folder / "checkpoint.pt"));
  if (force) write_file_atomic(folder / "config.yaml", config::to_yaml(resolved));

  run.report = old;
  run.report["status"] = "running";
  run.report["error"] = nullptr;
  run.report["config"] = resolved;
  run.report["config_hash"] = config::config_hash(resolved);
  run.report["environment"] = environment_json(run.device, threads);
  run.report["resumed"].push_back({{"command", options.command}, {"at", utc_now()}});
  run.report.erase("interrupted_at");
  run.earlier_wall_seconds = old.contains("final") ? old["final"].value("wall_seconds", 0.0) : 0.0;
  out << fmt::format("resume: {} ({} threads)", folder.string(), threads) << std::endl;
  if (over) {
    out << "no checkpoint yet (the run stopped before its first): starting it over" << std::endl;
    for (const char* key : {"test_classes", "diverged_at", "final"}) run.report.erase(key);
    run.report["epochs"] = Json::array();
    write_file_atomic(folder / "metrics.jsonl", "");
  }
  return run.execute(net, !over);
}

}  // namespace dlx::train
