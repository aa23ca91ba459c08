#include "framework/train/run.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <fmt/format.h>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <ostream>

#include "framework/core/error.h"
#include "framework/core/files.h"
#include "framework/core/system.h"
#include "framework/data/dataset.h"
#include "framework/nn/builder.h"
#include "framework/report/report.h"
#include "framework/report/run_folder.h"
#include "framework/train/checkpoint.h"
#include "framework/train/optim.h"
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
  // BLIS reads its thread count once, from the environment, when first used.
  setenv("BLIS_NUM_THREADS", std::to_string(threads).c_str(), /*overwrite=*/0);
  at::set_num_threads(threads);
  return threads;
}

namespace {

// Stops the run after the current step on the first SIGINT/SIGTERM; a second one kills at once.
class StopOnSignal {
 public:
  StopOnSignal() {
    stop_signal = 0;
    struct sigaction action {};
    action.sa_handler = [](int signal) { stop_signal = signal; };
    action.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~StopOnSignal() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {
  }, old_term_{};
};

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

std::string device_name(const c10::Device& device) {
  return device.is_cpu() ? cpu_model() : "CUDA device " + std::to_string(device.index());
}

Json environment_json(const c10::Device& device, int threads) {
  return {{"dlx_version", DLX_VERSION},
          {"libtorch_version", TORCH_VERSION},
          {"device", device.str()},
          {"device_name", device_name(device)},
          {"threads", threads},
          {"blas", loaded_blas()},
          {"host", host_name()},
          {"started", utc_now()},
          {"ended", nullptr}};
}

Json final_json(const Json& epochs, double wall_seconds) {
  Json final = epochs.empty() ? Json::object() : epochs.back();
  double examples = 0, seconds = 0;
  for (const auto& e : epochs) {
    examples += e["examples_per_sec"].get<double>() * e["seconds"].get<double>();
    seconds += e["seconds"].get<double>();
  }
  final["wall_seconds"] = wall_seconds;
  final["mean_examples_per_sec"] = seconds > 0 ? examples / seconds : 0.0;
  final["best_test_acc"] = nullptr;
  for (const auto& e : epochs) {
    if (final["best_test_acc"].is_null() ||
        e["test_acc"].get<double>() > final["best_test_acc"].get<double>()) {
      final["best_test_acc"] = e["test_acc"], final["best_epoch"] = e["epoch"];
    }
  }
  return final;
}

std::string epoch_line(const report::EpochRecord& r, int64_t epochs, const c10::Device& device) {
  return fmt::format(
      "epoch {}/{}: loss {:.3f}, train acc {:.3f}, test acc {:.3f}, {:.1f} examples/sec on {}",
      r.epoch, epochs, r.train_loss, r.train_acc, r.test_acc, r.examples_per_sec, device.str());
}

// The mutable state of one run, so that the loop and the end-of-run bookkeeping stay short.
struct Run {
  Run(config::ExperimentSpec& spec_, const RunOptions& options_, std::ostream& out_)
      : spec(spec_), options(options_), out(out_) {}
  config::ExperimentSpec& spec;
  const RunOptions& options;
  std::ostream& out;
  fs::path folder;
  c10::Device device = c10::kCPU;
  Json report;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  void save() { report::write_report(folder, report); }
  void finish(const std::string& status, const std::string& error);
  std::string train(nn::Network& net);
};

void Run::finish(const std::string& status, const std::string& error) {
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  report["status"] = status;
  report["error"] = error.empty() ? Json(nullptr) : Json(error);
  report["environment"]["ended"] = utc_now();
  report["final"] = final_json(report["epochs"], wall);
  save();
}

std::string Run::train(nn::Network& net) {
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
  auto optimizer = make_optimizer(spec.train.optimizer, net.body->parameters());
  report::MetricsLog metrics(folder / "metrics.jsonl");
  data::BatchOptions batching{spec.data.batch_size, true, static_cast<uint64_t>(spec.train.seed),
                              spec.data.resize, device};
  Progress progress(options.live_progress, spec.train.epochs);
  for (int64_t epoch = 1; epoch <= spec.train.epochs; ++epoch) {
    const double lr = scheduled_lr(spec.train, epoch);
    set_lr(*optimizer, lr);
    EpochTotals fit = train_epoch(net, *optimizer, dataset.train, batching, epoch, progress);
    if (fit.stopped) {
      save_checkpoint(folder, net, *optimizer);
      report["interrupted_in_epoch"] = epoch;
      return "interrupted";
    }
    EpochTotals test = evaluate(net, dataset.test, batching);
    report::EpochRecord record{epoch,
                               fit.loss,
                               fit.accuracy,
                               test.loss,
                               test.accuracy,
                               lr,
                               fit.seconds,
                               double(fit.examples) / fit.seconds,
                               fit.data_seconds,
                               test.seconds};
    metrics.append(record);
    report["epochs"].push_back(record.to_json());
    out << epoch_line(record, spec.train.epochs, device) << std::endl;
    if (!std::isfinite(fit.loss)) return "diverged";
    save_checkpoint(folder, net, *optimizer);
    save();
  }
  return "completed";
}

int exit_code_for(const std::string& status) {
  if (status == "completed") return 0;
  if (status == "diverged") return 3;
  if (status == "interrupted") return 128 + (stop_signal.load() ? stop_signal.load() : SIGINT);
  return 1;
}

}  // namespace

RunOutcome run_experiment(config::ExperimentSpec spec, const RunOptions& options,
                          std::ostream& out) {
  Json resolved = config::resolved_json(spec);
  Run run{spec, options, out};
  run.device = resolve_device(spec.train.device);
  const int threads = configure_threads(spec.train.threads);
  at::manual_seed(static_cast<uint64_t>(spec.train.seed));
  nn::Network net = nn::build_network(spec);
  init_weights(net, spec.train.init);

  run.folder = report::create_run_folder(options.runs_root, spec.name);
  write_file_atomic(run.folder / "config.yaml", config::to_yaml(resolved));
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
  run.save();
  out << fmt::format("run: {} -> {}\nmodel: {}, {} parameters; device: {} ({} threads)", spec.name,
                     run.folder.string(), spec.model.name, net.parameters(), run.device.str(),
                     threads)
      << std::endl;
  if (run.device.is_cpu() && is_reference_blas(loaded_blas())) {
    out << "warning: LibTorch is using the reference BLAS, which is ~40x slower; run tools/setup\n";
  }

  std::string status, error;
  {
    StopOnSignal stop;
    try {
      status = run.train(net);
    } catch (const std::exception& e) {
      status = "failed", error = error_message(e);
    }
  }
  run.finish(status, error);
  const Json& final = run.report["final"];
  if (!run.report["epochs"].empty() && status != "diverged") {
    out << fmt::format(
        "loss {:.3f}, train acc {:.3f}, test acc {:.3f}\n{:.1f} examples/sec on {}\n",
        final["train_loss"].get<double>(), final["train_acc"].get<double>(),
        final["test_acc"].get<double>(), final["mean_examples_per_sec"].get<double>(),
        run.device.str());
  }
  out << "status: " << status << (error.empty() ? "" : " (" + error + ")")
      << "; report: " << (run.folder / "report.json").string() << std::endl;
  return RunOutcome{status, run.folder, exit_code_for(status)};
}

}  // namespace dlx::train
