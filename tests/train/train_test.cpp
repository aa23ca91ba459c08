#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include <ATen/ops/allclose.h>
#include <torch/cuda.h>

#include "framework/core/files.h"
#include "framework/experiment/experiment.h"
#include "framework/report/report.h"
#include "framework/train/checkpoint.h"
#include "framework/train/optim.h"
#include "framework/train/predict.h"
#include "framework/train/run.h"
#include "tests/helpers.h"

using namespace dlx;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

const char* kSyntheticExperiment = R"(name: tiny
model:
  layers:
    - conv2d: {out_channels: 8, kernel_size: 3, padding: 1}
    - batchnorm2d
    - relu
    - maxpool2d: {kernel_size: 2}
    - dense: {units: 10}
data:
  dataset: synthetic
  batch_size: 64
  synthetic: {train_size: 1024, test_size: 256, size: 12, noise: 0.4}
train:
  epochs: 3
  optimizer: {type: sgd, lr: 0.05, momentum: 0.9}
  init: xavier_uniform
  seed: 7
  device: cpu
  threads: 1
)";

struct TinyRun {
  testing::TempDir dir;
  train::RunOutcome outcome;
  std::string printed;

  explicit TinyRun(const std::vector<std::string>& sets = {}) {
    std::vector<config::Override> overrides;
    for (const auto& s : sets) overrides.push_back(config::parse_override(s));
    auto spec = config::load_experiment(dir.write("tiny.yaml", kSyntheticExperiment), overrides);
    std::ostringstream out;
    train::RunOptions options;
    options.runs_root = dir.path() / "runs";
    options.command = "dlx run tiny.yaml";
    outcome = train::run_experiment(spec, options, out);
    printed = out.str();
  }
  Json report() const { return Json::parse(read_file(outcome.folder / "report.json")); }
  std::string metrics() const { return read_file(outcome.folder / "metrics.jsonl"); }
};

}  // namespace

TEST_CASE("a small network learns the synthetic data and the run folder holds every record") {
  TinyRun run;
  CHECK(run.outcome.status == report::RunStatus::kCompleted);
  CHECK(run.outcome.exit_code == 0);
  CHECK(run.outcome.folder.parent_path() == run.dir.path() / "runs" / "tiny");
  for (const char* file :
       {"config.yaml", "metrics.jsonl", "report.json", "checkpoint.pt", "train_state.pt"}) {
    CAPTURE(file);
    CHECK(fs::exists(run.outcome.folder / file));
  }
  Json r = run.report();
  CHECK(r["final"]["test_acc"].get<double>() > 0.9);
  CHECK(r["epochs"][0]["train_loss"].get<double>() > r["epochs"][2]["train_loss"].get<double>());
  CHECK(run.printed.find("epoch 3/3: loss ") != std::string::npos);
  CHECK(run.printed.find("examples/sec on cpu") != std::string::npos);
}

TEST_CASE("the report carries the contract's fields") {
  TinyRun run;
  Json r = run.report();
  for (const char* key : {"schema", "run_id", "experiment", "status", "error", "config",
                          "config_hash", "command", "environment", "model", "epochs", "final"}) {
    CAPTURE(key);
    CHECK(r.contains(key));
  }
  CHECK(r["schema"] == "dlx.run/1");
  CHECK(r["status"] == "completed");
  CHECK(r["error"].is_null());
  CHECK(r["run_id"] == run.outcome.folder.filename().string());
  CHECK(r["command"] == "dlx run tiny.yaml");
  CHECK(r["config"]["train"]["seed"] == 7);
  CHECK(r["config_hash"].get<std::string>().size() == 16);
  for (const char* key : {"dlx_version", "libtorch_version", "device", "device_name", "threads",
                          "host", "started", "ended"}) {
    CAPTURE(key);
    CHECK(r["environment"].contains(key));
  }
  CHECK(r["environment"]["threads"] == 1);
  CHECK(r["model"]["parameters"] == 8 * 9 + 8 + 16 + 8 * 6 * 6 * 10 + 10);
  CHECK(r["model"]["layers"][4]["output_shape"] == Json::array({10}));
  REQUIRE(r["epochs"].size() == 3);
  for (const char* key : {"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr",
                          "seconds", "examples_per_sec"}) {
    CAPTURE(key);
    CHECK(r["epochs"][2].contains(key));
  }
  CHECK(r["epochs"][1]["examples_per_sec"].get<double>() ==
        doctest::Approx(1024 / r["epochs"][1]["seconds"].get<double>()));
  CHECK(r["final"]["test_acc"] == r["epochs"][2]["test_acc"]);
  CHECK(r["final"].contains("wall_seconds"));
  CHECK(r["final"].contains("mean_examples_per_sec"));
  // Data against compute, and the process's peak memory (a LibTorch process holds > 50 MiB).
  const Json& f = r["final"];
  double train_seconds = 0;
  for (const auto& e : r["epochs"]) train_seconds += e["seconds"].get<double>();
  CHECK(f["data_seconds"].get<double>() + f["compute_seconds"].get<double>() ==
        doctest::Approx(train_seconds));
  CHECK(f["data_seconds"].get<double>() > 0);
  CHECK(f["peak_rss_mib"].get<double>() > 50);
  // metrics.jsonl holds the same epochs, one line each.
  std::istringstream lines(run.metrics());
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) CHECK(Json::parse(line)["epoch"] == ++count);
  CHECK(count == 3);
}

TEST_CASE("the same seed gives the same metrics on CPU, another seed does not") {
  TinyRun a, b, c({"train.seed=8"});
  auto strip_times = [](const Json& epochs) {
    std::vector<double> out;
    for (const auto& e : epochs) {
      for (const char* k : {"train_loss", "train_acc", "test_loss", "test_acc"})
        out.push_back(e[k].get<double>());
    }
    return out;
  };
  CHECK(strip_times(a.report()["epochs"]) == strip_times(b.report()["epochs"]));
  CHECK(strip_times(a.report()["epochs"]) != strip_times(c.report()["epochs"]));
}

TEST_CASE("channels-last and prefetching change the memory layout and timing, not the results") {
  TinyRun plain({"data.prefetch=false"}), nhwc({"train.channels_last=true"});
  REQUIRE(plain.outcome.status == report::RunStatus::kCompleted);
  REQUIRE(nhwc.outcome.status == report::RunStatus::kCompleted);
  const Json a = plain.report()["epochs"], b = nhwc.report()["epochs"];
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    // Another convolution algorithm sums in another order: equal to float tolerance only.
    CHECK(a[i]["train_loss"].get<double>() ==
          doctest::Approx(b[i]["train_loss"].get<double>()).epsilon(1e-3));
    CHECK(a[i]["test_acc"].get<double>() ==
          doctest::Approx(b[i]["test_acc"].get<double>()).epsilon(2e-2));
  }
  // The checkpoint is written in the standard layout whatever the training layout was.
  auto weights = train::read_weights(nhwc.outcome.folder / "checkpoint.pt");
  for (const auto& [name, tensor] : weights) CHECK(tensor.is_contiguous());
}

TEST_CASE("checkpoint.pt holds parameters and buffers by layer name and loads back") {
  TinyRun run;
  auto weights = train::read_weights(run.outcome.folder / "checkpoint.pt");
  std::vector<std::string> keys;
  for (const auto& [k, v] : weights) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"batchnorm0.bias", "batchnorm0.num_batches_tracked",
                                         "batchnorm0.running_mean", "batchnorm0.running_var",
                                         "batchnorm0.weight", "conv0.bias", "conv0.weight",
                                         "dense0.bias", "dense0.weight"});
  CHECK(weights["batchnorm0.num_batches_tracked"].item<int64_t>() == 3 * 16);
  auto spec = config::load_experiment(run.dir.path() / "tiny.yaml");
  nn::Network net = experiment::build_network(spec);
  train::load_weights(net, weights);
  CHECK(net.body->named_parameters()["dense0.weight"].equal(weights["dense0.weight"]));
  auto optimizer = train::make_optimizer(spec.train.optimizer, train::parameter_groups(spec, net));
  train::EpochState next = train::load_train_state(run.outcome.folder, *optimizer, c10::kCPU);
  CHECK(next.epoch == 4);
  CHECK(next.steps == 0);
}

TEST_CASE("a checkpoint of another model is refused with the reason") {
  TinyRun run;
  auto weights = train::read_weights(run.outcome.folder / "checkpoint.pt");
  auto spec =
      config::load_experiment(run.dir.path() / "tiny.yaml",
                              {config::parse_override("model.layers.0.conv2d.out_channels=4")});
  nn::Network other = experiment::build_network(spec);
  CHECK(testing::runtime_error([&] { train::load_weights(other, weights); }) ==
        "checkpoint's conv0.weight has shape [8, 1, 3, 3], the model's has [4, 1, 3, 3] (another "
        "model's?)");
  testing::TempDir dir;
  CHECK(testing::runtime_error([&] {
          train::read_weights(dir.write("junk.pt", "not a checkpoint"));
        }) == (dir.path() / "junk.pt").string() + ": not a dlx checkpoint (cannot be unpickled)");
}

TEST_CASE("a diverging run ends as diverged with its own exit code") {
  // Cross-entropy is stable for large finite logits; only overflowing the weights makes NaN.
  TinyRun run({"train.optimizer.lr=1e38", "model.layers=[dense: {units: 10}]"});
  CHECK(run.outcome.status == report::RunStatus::kDiverged);
  CHECK(run.outcome.exit_code == 3);
  CHECK(run.report()["status"] == "diverged");
  CHECK(run.report()["diverged_at"]["epoch"] == 1);
  CHECK(run.report()["diverged_at"]["step"].get<int>() >= 1);
}

TEST_CASE("a run that fails is reported as failed, with the error, never as completed") {
  TinyRun run({"data.dataset=mnist", "data.root=/nonexistent"});
  CHECK(run.outcome.status == report::RunStatus::kFailed);
  CHECK(run.outcome.exit_code == 1);
  Json r = run.report();
  CHECK(r["status"] == "failed");
  CHECK(r["error"] == "data.root /nonexistent: no train-images-idx3-ubyte[.gz] there");
  CHECK(r["epochs"].empty());
}

TEST_CASE("the learning-rate schedule follows its spec, warm-up included") {
  config::TrainSpec t;
  t.epochs = 10;
  t.optimizer.lr = 1.0;
  CHECK(train::scheduled_lr(t, 7) == 1.0);
  t.scheduler.type = config::SchedulerKind::kStep;
  t.scheduler.step_size = 3;
  t.scheduler.gamma = 0.5;
  CHECK(train::scheduled_lr(t, 3) == 1.0);
  CHECK(train::scheduled_lr(t, 4) == 0.5);
  CHECK(train::scheduled_lr(t, 7) == 0.25);
  t.scheduler.type = config::SchedulerKind::kMultistep;
  t.scheduler.milestones = {2, 5};
  CHECK(train::scheduled_lr(t, 2) == 1.0);
  CHECK(train::scheduled_lr(t, 3) == 0.5);
  CHECK(train::scheduled_lr(t, 6) == 0.25);
  t.scheduler.type = config::SchedulerKind::kCosine;
  t.scheduler.min_lr = 0.0;
  t.scheduler.warmup_epochs = 2;
  CHECK(train::scheduled_lr(t, 1) == 0.5);
  CHECK(train::scheduled_lr(t, 2) == 1.0);
  CHECK(train::scheduled_lr(t, 3) == 1.0);
  CHECK(train::scheduled_lr(t, 7) == doctest::Approx(0.5));
}

TEST_CASE("Python's torch.load opens checkpoint.pt as a name-to-tensor dict") {
  std::string out;
  if (testing::run_command("/usr/bin/python3 -c 'import torch'", out) != 0)
    DLX_SKIP("no python3 with torch (Debian's python3-torch)");
  TinyRun run;
  std::string script = "import torch; w = torch.load('" +
                       (run.outcome.folder / "checkpoint.pt").string() +
                       "'); print(type(w).__name__, len(w), tuple(w['conv0.weight'].shape), "
                       "int(w['batchnorm0.num_batches_tracked']))";
  REQUIRE(testing::run_command("/usr/bin/python3 -c \"" + script + "\"", out) == 0);
  CHECK(out == "dict 9 (8, 1, 3, 3) 48\n");
}

TEST_CASE("the report holds the test set's confusion matrix and per-class accuracy") {
  TinyRun run;
  Json classes = run.report()["test_classes"];
  REQUIRE(classes["confusion_matrix"].size() == 10);
  int64_t total = 0, right = 0;
  for (size_t t = 0; t < 10; ++t) {
    for (size_t p = 0; p < 10; ++p) total += classes["confusion_matrix"][t][p].get<int64_t>();
    right += classes["confusion_matrix"][t][t].get<int64_t>();
  }
  CHECK(total == 256);
  CHECK(double(right) / double(total) ==
        doctest::Approx(run.report()["final"]["test_acc"].get<double>()));
  CHECK(classes["per_class_accuracy"].size() == 10);
  CHECK(classes["per_class_accuracy"].contains("class 3"));
}

TEST_CASE("each run folder has its curves picture, one line per series") {
  TinyRun run;
  std::string svg = read_file(run.outcome.folder / "curves.svg");
  CHECK(svg.rfind("<svg ", 0) == 0);
  CHECK(testing::count_of(svg, "<polyline") == 3);
  CHECK(svg.find(">test acc<") != std::string::npos);
}

TEST_CASE("each run folder has its confusion matrix and per-class accuracy picture") {
  TinyRun run;
  const Json classes = run.report()["test_classes"];
  const std::string svg = read_file(run.outcome.folder / "classes.svg");
  const size_t n = classes["names"].size();
  CHECK(svg.rfind("<svg ", 0) == 0);
  CHECK(testing::count_of(svg, "<rect ") == 1 + n * n + n);  // background, cells, accuracy bars
  // Every count of the matrix is written in its cell, and each class's accuracy beside its row.
  const auto& matrix = classes["confusion_matrix"];
  CHECK(svg.find(">" + std::to_string(matrix[0][0].get<int64_t>()) + "</text>") !=
        std::string::npos);
  for (const auto& [name, accuracy] : classes["per_class_accuracy"].items()) {
    CAPTURE(name);
    CHECK(svg.find(fmt::format(">{:.3f}</text>", accuracy.get<double>())) != std::string::npos);
  }
}

TEST_CASE("dlx predict's rows agree with the run's test accuracy") {
  TinyRun run;
  train::PredictOptions all;
  all.count = 256;
  auto rows = train::predict_run(run.outcome.folder, all);
  REQUIRE(rows.size() == 256);
  int right = 0;
  for (const auto& r : rows) right += r.truth == r.predicted;
  CHECK(double(right) / 256 == doctest::Approx(run.report()["final"]["test_acc"].get<double>()));
  CHECK(rows[3].index == 3);
  train::PredictOptions misses;
  misses.count = 5;
  misses.misses_only = true;
  for (const auto& r : train::predict_run(run.outcome.folder, misses))
    CHECK(r.truth != r.predicted);
  misses.split = "validation";
  CHECK(testing::config_error([&] { train::predict_run(run.outcome.folder, misses); }) ==
        "--split: error: expected test or train, found 'validation'");
}

TEST_CASE("dlx predict --image draws each example titled true/predicted, wrong ones in red") {
  TinyRun run;
  train::PredictOptions options;
  options.count = 4;
  auto rows = train::predict_run(run.outcome.folder, options);
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].pixels.size() == 12);  // the stored 12x12 synthetic image
  rows[1].predicted = rows[1].truth == "class 0" ? "class 1" : "class 0";  // one wrong row
  std::string svg = train::predictions_svg(rows);
  CHECK(testing::count_of(svg, "<rect x=") == 4 * 12 * 12);
  CHECK(svg.find(">" + rows[0].truth + "</text>") != std::string::npos);
  CHECK(testing::count_of(svg, "fill=\"#d62728\"") == 2);  // the wrong row's two titles
}

// GPU checks: they skip themselves where there is no CUDA device (CI never has one).
TEST_CASE("on CUDA a run learns what it learns on the CPU, and its checkpoint loads anywhere") {
  if (!torch::cuda::is_available()) DLX_SKIP("no CUDA device");
  TinyRun cpu, cuda({"train.device=cuda"});
  REQUIRE(cuda.outcome.status == report::RunStatus::kCompleted);
  CHECK(cuda.printed.find("examples/sec on cuda:0") != std::string::npos);
  CHECK(cuda.report()["environment"]["device"] == "cuda:0");
  CHECK(cuda.report()["environment"]["device_name"].get<std::string>().rfind("CUDA device", 0) ==
        std::string::npos);  // the driver's name for it, not the fallback
  // Other kernels, other rounding: the same curve to a tolerance, not to the bit.
  for (int e = 0; e < 3; ++e) {
    CAPTURE(e);
    CHECK(cuda.report()["epochs"][e]["train_loss"].get<double>() ==
          doctest::Approx(cpu.report()["epochs"][e]["train_loss"].get<double>()).epsilon(0.02));
  }
  CHECK(cuda.report()["final"]["test_acc"].get<double>() > 0.9);
  // The caching allocator's peak: the weights alone are over 0 MiB, and reserved covers allocated.
  const Json final = cuda.report()["final"];
  CHECK(final["peak_gpu_allocated_mib"].get<double>() > 0.0);
  CHECK(final["peak_gpu_reserved_mib"].get<double>() >=
        final["peak_gpu_allocated_mib"].get<double>());
  CHECK_FALSE(cpu.report()["final"].contains("peak_gpu_allocated_mib"));
  auto a = train::read_weights(cpu.outcome.folder / "checkpoint.pt");
  auto b = train::read_weights(cuda.outcome.folder / "checkpoint.pt");
  for (const auto& [name, tensor] : b) {
    CAPTURE(name);
    CHECK(tensor.device().is_cpu());
    CHECK(at::allclose(tensor, a.at(name), 0.05, 0.02));
  }
}

TEST_CASE("fp16 asked of the CPU: the run says so once and trains in fp32, without loss scaling") {
  TinyRun fp16({"train.precision=fp16", "train.epochs=1"});
  REQUIRE(fp16.outcome.status == report::RunStatus::kCompleted);
  CHECK(testing::count_of(fp16.printed, "note: train.precision: fp16") == 1);
  CHECK(fp16.report()["environment"]["precision"] == "fp32");
  CHECK_FALSE(fp16.report()["epochs"][0].contains("loss_scale"));
}

TEST_CASE("on CUDA an fp16 run scales its loss and learns what an fp32 run learns") {
  if (!torch::cuda::is_available()) DLX_SKIP("no CUDA device");
  TinyRun fp32({"train.device=cuda"}), fp16({"train.device=cuda", "train.precision=fp16"});
  REQUIRE(fp16.outcome.status == report::RunStatus::kCompleted);
  const Json report = fp16.report();
  CHECK(report["environment"]["precision"] == "fp16");
  // 48 steps in all, fewer than the 2,000 good steps that double the scale: it starts at 2^16
  // and only halves, once for each skipped step, and most steps train.
  int64_t skipped = 0;
  for (const auto& epoch : report["epochs"]) {
    skipped += epoch["skipped_steps"].get<int64_t>();
    CHECK(epoch["loss_scale"].get<double>() == std::ldexp(65536.0, -int(skipped)));
  }
  CHECK(skipped < 24);
  CHECK(report["final"]["test_acc"].get<double>() >
        fp32.report()["final"]["test_acc"].get<double>() - 0.05);
  for (const auto& [name, tensor] : train::read_weights(fp16.outcome.folder / "checkpoint.pt")) {
    CAPTURE(name);
    CHECK(std::string(c10::toString(tensor.scalar_type())) == "Float");  // as fp32 runs save
  }
}
