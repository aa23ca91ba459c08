// Interrupting a real dlx process (SIGINT, or kill -9) and resuming it must reach bit-for-bit the
// weights and metrics of an uninterrupted run with the same seed: with a validation split,
// normalisation and every augmentation drawing its randomness, as the run below has.
#include <doctest/doctest.h>

#include <ATen/ops/equal.h>
#include <torch/cuda.h>

#include "framework/core/files.h"
#include "framework/nn/precision.h"
#include "framework/train/checkpoint.h"
#include "tests/helpers.h"

using namespace dlx;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

const char* kExperiment = R"(name: resumable
model:
  layers:
    - conv2d: {out_channels: 4, kernel_size: 3}
    - batchnorm2d
    - relu
    - dropout: {p: 0.2}
    - dense: {units: 4}
data:
  dataset: synthetic
  batch_size: 8
  synthetic: {classes: 4, train_size: 4096, test_size: 64, size: 8}
  val_split: 0.1
  normalize: auto
  augment:
    - random_crop: {padding: 1}
    - horizontal_flip
    - random_resized_crop: {scale: [0.5, 1]}
train:
  epochs: 3
  optimizer: {type: sgd, lr: 0.02, momentum: 0.9}
  metrics: [top2_acc]
  seed: 3
  device: cpu
  threads: 1
)";

// The only run folder under runs/resumable.
fs::path only_run(const fs::path& runs) {
  std::vector<fs::path> found;
  for (const auto& entry : fs::directory_iterator(runs / "resumable"))
    found.push_back(entry.path());
  REQUIRE(found.size() == 1);
  return found[0];
}

// Starts a run, and once its first epoch's checkpoint is saved (train_state.pt is written last)
// sends `signal`; returns the exit code. Waiting for metrics.jsonl instead could kill the run
// between its first metrics line and its first checkpoint, leaving nothing to resume from.
int run_and_signal(const fs::path& experiment, const fs::path& runs, const std::string& signal) {
  std::string script = testing::dlx_binary() + " run " + experiment.string() + " --runs " +
                       runs.string() + " >/dev/null & pid=$!; for i in $(seq 600); do test -s " +
                       runs.string() +
                       "/resumable/*/train_state.pt 2>/dev/null && break; sleep 0.05; done; "
                       "kill -" +
                       signal + " $pid; wait $pid";
  std::string out;
  return testing::run_command("bash -c '" + script + "'", out);
}

// The reference: the same experiment run straight through.
fs::path uninterrupted_run(const fs::path& experiment, const fs::path& runs) {
  std::string out;
  REQUIRE(testing::run_command(
              testing::dlx_binary() + " run " + experiment.string() + " --runs " + runs.string(),
              out) == 0);
  return only_run(runs);
}

Json epochs_without_times(const fs::path& folder) {
  Json epochs = Json::parse(read_file(folder / "report.json"))["epochs"];
  for (auto& e : epochs) {
    for (const char* timing : {"seconds", "examples_per_sec", "data_seconds", "eval_seconds"})
      e.erase(timing);
  }
  return epochs;
}

void check_same_result(const fs::path& a, const fs::path& b) {
  for (const char* file : {"checkpoint.pt", "checkpoint_best.pt"}) {
    auto wa = train::read_weights(a / file);
    auto wb = train::read_weights(b / file);
    REQUIRE(wa.size() == wb.size());
    for (const auto& [name, tensor] : wa) {
      CAPTURE(file);
      CAPTURE(name);
      CHECK(at::equal(tensor, wb.at(name)));
    }
  }
  const Json epochs = epochs_without_times(a);
  CHECK(epochs[0].contains("val_acc"));
  CHECK(epochs[0].contains("train_top2_acc"));  // its sum is resumed mid-epoch too
  CHECK(epochs == epochs_without_times(b));
}

}  // namespace

TEST_CASE("a run interrupted by SIGINT and resumed matches an uninterrupted run bit for bit") {
  testing::TempDir dir;
  auto experiment = dir.write("resumable.yaml", kExperiment);
  const fs::path straight = uninterrupted_run(experiment, dir.path() / "straight");
  std::string out;

  REQUIRE(run_and_signal(experiment, dir.path() / "cut", "INT") == 130);
  const fs::path cut = only_run(dir.path() / "cut");
  Json report = Json::parse(read_file(cut / "report.json"));
  CHECK(report["status"] == "interrupted");
  CHECK(report["interrupted_at"]["epoch"].get<int>() >= 2);
  REQUIRE(testing::run_dlx("resume " + cut.string(), out) == 0);
  CHECK(out.find("resuming at epoch") != std::string::npos);
  CHECK(Json::parse(read_file(cut / "report.json"))["status"] == "completed");
  check_same_result(straight, cut);
}

TEST_CASE("after kill -9 the last epoch's checkpoint survives and resume reaches the same result") {
  testing::TempDir dir;
  auto experiment = dir.write("resumable.yaml", kExperiment);
  const fs::path straight = uninterrupted_run(experiment, dir.path() / "straight");
  std::string out;
  REQUIRE(run_and_signal(experiment, dir.path() / "killed", "KILL") == 137);
  const fs::path killed = only_run(dir.path() / "killed");
  CHECK(Json::parse(read_file(killed / "report.json"))["status"] == "running");
  REQUIRE(testing::run_dlx("resume " + killed.string(), out) == 0);
  check_same_result(straight, killed);
}

TEST_CASE("a run killed before its first checkpoint starts over and reaches the same result") {
  testing::TempDir dir;
  auto experiment = dir.write("resumable.yaml", kExperiment);
  const fs::path straight = uninterrupted_run(experiment, dir.path() / "straight");
  // What kill -9 leaves when it lands after the first metrics line and before the first
  // train_state.pt (written last): a running report, a metrics line, perhaps the weights.
  const fs::path killed = dir.path() / "killed";
  fs::copy(straight, killed);
  fs::remove(killed / "train_state.pt");
  Json report = Json::parse(read_file(killed / "report.json"));
  report["status"] = "running";
  Json& epochs = report["epochs"];
  epochs.erase(epochs.begin() + 1, epochs.end());
  write_file_atomic(killed / "report.json", report.dump());
  write_file_atomic(killed / "metrics.jsonl", epochs[0].dump() + "\n");
  std::string out;
  REQUIRE(testing::run_dlx("resume " + killed.string(), out) == 0);
  CHECK(out.find("no checkpoint yet (the run stopped before its first): starting it over") !=
        std::string::npos);
  check_same_result(straight, killed);
  CHECK(testing::count_of(read_file(killed / "metrics.jsonl"), "\n") == 3);
  CHECK(Json::parse(read_file(killed / "report.json"))["resumed"].size() == 1);
}

TEST_CASE("resume refuses a changed config, listing the keys, unless --force") {
  testing::TempDir dir;
  auto experiment = dir.write("resumable.yaml", kExperiment);
  REQUIRE(run_and_signal(experiment, dir.path() / "runs", "INT") == 130);
  const fs::path run = only_run(dir.path() / "runs");
  std::string out;
  CHECK(testing::run_dlx(
            "resume " + run.string() + " --set train.optimizer.lr=0.5 --set data.batch_size=16",
            out) == 2);
  CHECK(out == (run / "config.yaml").string() +
                   ": error: the config differs from the run's in data.batch_size, "
                   "train.optimizer.lr; pass --force to resume with it anyway\n");
  CHECK(testing::run_command(testing::dlx_binary() + " resume " + run.string() +
                                 " --set train.optimizer.lr=0.5 --force",
                             out) == 0);
  CHECK(testing::run_dlx("resume " + run.string(), out) == 2);
  CHECK(out.find("the run is completed; to train it longer") != std::string::npos);
}

TEST_CASE("a checkpoint that is not the one saved with the training state is refused") {
  testing::TempDir dir;
  auto experiment = dir.write("resumable.yaml", kExperiment);
  REQUIRE(run_and_signal(experiment, dir.path() / "runs", "INT") == 130);
  const fs::path run = only_run(dir.path() / "runs");
  auto weights = read_file(run / "checkpoint.pt");
  write_file_atomic(run / "checkpoint.pt", weights + "x");
  std::string out;
  CHECK(testing::run_dlx("resume " + run.string(), out) == 1);
  CHECK(out.find("is not the one saved with train_state.pt") != std::string::npos);
}

TEST_CASE("on CUDA an interrupted run resumes to the uninterrupted run's result") {
  if (!torch::cuda::is_available()) DLX_SKIP("no CUDA device");
  testing::TempDir dir;
  std::string yaml = kExperiment;
  yaml.replace(yaml.find("device: cpu"), 11, "device: cuda");
  auto experiment = dir.write("resumable.yaml", yaml);
  const fs::path straight = uninterrupted_run(experiment, dir.path() / "straight");
  REQUIRE(run_and_signal(experiment, dir.path() / "cut", "INT") == 130);
  const fs::path cut = only_run(dir.path() / "cut");
  std::string out;
  REQUIRE(testing::run_dlx("resume " + cut.string(), out) == 0);
  check_same_result(straight, cut);
}

TEST_CASE("a bf16 CPU run interrupted by SIGINT resumes to the uninterrupted run's result") {
  if (!nn::cpu_has_bf16()) DLX_SKIP("this CPU has no bfloat16 arithmetic (AVX512-BF16 or AMX)");
  testing::TempDir dir;
  std::string yaml = kExperiment;
  yaml.replace(yaml.find("  threads: 1"), 12, "  threads: 1\n  precision: bf16");
  auto experiment = dir.write("resumable.yaml", yaml);
  const fs::path straight = uninterrupted_run(experiment, dir.path() / "straight");
  CHECK(Json::parse(read_file(straight / "report.json"))["environment"]["precision"] == "bf16");
  REQUIRE(run_and_signal(experiment, dir.path() / "cut", "INT") == 130);
  const fs::path cut = only_run(dir.path() / "cut");
  std::string out;
  REQUIRE(testing::run_dlx("resume " + cut.string(), out) == 0);
  check_same_result(straight, cut);
}
