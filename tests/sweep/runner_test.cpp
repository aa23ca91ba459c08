// Sweeps through the real dlx program: folders, sweep.json, skipping, failures, interruption.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "framework/core/files.h"
#include "tests/helpers.h"

using namespace dlx;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

const char* kExperiment = R"(name: tiny
model:
  layers:
    - dense: {units: 10}
data:
  dataset: synthetic
  batch_size: 16
  root: /nonexistent
  synthetic: {classes: 10, train_size: 256, test_size: 64, size: 6}
train: {epochs: 2, device: cpu, threads: 1}
)";

int dlx_sweep(const std::string& args, std::string& out) {
  return testing::run_dlx("sweep " + args, out);
}

Json index_of(const fs::path& sweep) {
  return Json::parse(read_file(sweep / "sweep.json"));
}

// A sweep of two points whose runs are long enough for a signal to land inside the first.
std::string long_sweep(testing::TempDir& dir) {
  auto file = dir.write("tiny.yaml", kExperiment);
  return file.string() + " --set train.optimizer.lr=0.1,0.2 --set train.epochs=40 --runs " +
         (dir.path() / "runs").string();
}

// Starts `dlx sweep args` in a session of its own, waits for `run`'s first epoch, then runs
// `kill <kill_args>` ($pid is the sweep's); returns the sweep's exit code.
int sweep_and_signal(const std::string& args, const fs::path& run, const std::string& kill_args) {
  std::string script = "setsid " + testing::dlx_binary() + " sweep " + args +
                       " >/dev/null & pid=$!; for i in $(seq 600); do test -s " + run.string() +
                       "/metrics.jsonl && break; sleep 0.05; done; kill " + kill_args +
                       "; wait $pid";
  std::string out;
  return testing::run_command("bash -c '" + script + "'", out);
}

}  // namespace

TEST_CASE(
    "a run that fails mid-sweep does not stop the others, and a second start skips and retries") {
  testing::TempDir dir;
  auto file = dir.write("tiny.yaml", kExperiment);
  const std::string args = file.string() + " --set data.dataset=synthetic,mnist --runs " +
                           (dir.path() / "runs").string() + " --jobs 2";
  std::string out;
  CHECK(dlx_sweep(args, out) == 1);
  const fs::path sweep = dir.path() / "runs/tiny";
  Json index = index_of(sweep);
  REQUIRE(index["points"].size() == 2);
  CHECK(index["schema"] == "dlx.sweep/1");
  CHECK(index["points"][0]["label"] == "dataset=synthetic");
  CHECK(index["points"][0]["status"] == "completed");
  CHECK(index["points"][0]["values"]["data.dataset"] == "synthetic");
  CHECK(index["points"][0]["final"]["test_acc"].get<double>() > 0.2);  // chance is 0.1
  CHECK(index["points"][1]["status"] == "failed");
  CHECK(index["points"][1]["error"] ==
        "data.root /nonexistent: no train-images-idx3-ubyte[.gz] there");
  CHECK(fs::exists(sweep / "dataset=synthetic/report.json"));
  CHECK(fs::exists(sweep / "dataset=synthetic/log.txt"));

  CHECK(dlx_sweep(args, out) == 1);
  CHECK(out.find("dataset=synthetic: completed earlier") != std::string::npos);
  CHECK(out.find("dataset=mnist: re-running; the failed run is kept beside") != std::string::npos);
  CHECK(fs::exists(sweep / "dataset=mnist@failed/report.json"));
  CHECK(index_of(sweep)["points"][0]["status"] == "completed");
}

TEST_CASE("a sweep whose config changed moves the old run aside instead of reusing it") {
  testing::TempDir dir;
  auto file = dir.write("tiny.yaml", kExperiment);
  const std::string runs = " --runs " + (dir.path() / "runs").string();
  std::string out;
  REQUIRE(dlx_sweep(file.string() + " --set train.optimizer.lr=0.1,0.2" + runs, out) == 0);
  REQUIRE(dlx_sweep(file.string() + " --set train.optimizer.lr=0.1,0.2 --set train.epochs=1" + runs,
                    out) == 0);
  CHECK(out.find("lr=0.1: the config changed; the earlier run is kept beside") !=
        std::string::npos);
  CHECK(index_of(dir.path() / "runs/tiny")["points"][0]["final"]["epoch"] == 1);
  int kept = 0;
  for (const auto& e : fs::directory_iterator(dir.path() / "runs/tiny")) {
    kept += e.path().filename().string().rfind("lr=0.1@", 0) == 0;
  }
  CHECK(kept == 1);
}

TEST_CASE("killing a sweep and starting it again loses nothing and repeats nothing") {
  testing::TempDir dir;
  const fs::path runs = dir.path() / "runs";
  const std::string args = long_sweep(dir);
  std::string out;
  CHECK(sweep_and_signal(args, runs / "tiny/lr=0.1", "-INT -- -$pid") == 130);  // its process group
  Json index = index_of(runs / "tiny");
  CHECK(index["points"][0]["status"] == "interrupted");
  CHECK(index["points"][1]["status"] == "pending");
  // One Ctrl-C is one signal for the run too, which then stops after its step, checkpointed; a
  // second would stop it at once, with this error.
  CHECK(Json::parse(read_file(runs / "tiny/lr=0.1/report.json"))["error"].is_null());

  REQUIRE(dlx_sweep(args, out) == 0);
  CHECK(out.find("lr=0.1: resuming its interrupted run") != std::string::npos);
  Json report = Json::parse(read_file(runs / "tiny/lr=0.1/report.json"));
  CHECK(report["status"] == "completed");
  CHECK(report["resumed"].size() == 1);
  CHECK(report["epochs"].size() == 40);
  CHECK(index_of(runs / "tiny")["points"][1]["status"] == "completed");
}

TEST_CASE("a sweep killed with -9 takes its runs down with it, resumable") {
  testing::TempDir dir;
  const fs::path run = dir.path() / "runs/tiny/lr=0.1";
  const std::string args = long_sweep(dir);
  std::string out;
  CHECK(sweep_and_signal(args, run, "-KILL $pid") == 137);  // the sweep alone
  // The run outlives the sweep by at most one step: the kernel sends it SIGTERM.
  std::string status;
  for (int i = 0; i < 600 && status != "interrupted"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    status = Json::parse(read_file(run / "report.json"), nullptr, false).value("status", "");
  }
  CHECK(status == "interrupted");
  REQUIRE(dlx_sweep(args, out) == 0);
  CHECK(out.find("lr=0.1: resuming its interrupted run") != std::string::npos);
  CHECK(Json::parse(read_file(run / "report.json"))["status"] == "completed");
}

namespace {

// Four learning rates, halved by validation accuracy with eta 2: rungs at epochs 1, 2 and 4,
// with 4, 2 and 1 points.
const char* kHalving = R"(name: halving
model:
  layers:
    - dense: {units: 10}
data:
  dataset: synthetic
  batch_size: 16
  val_split: 0.25
  synthetic: {classes: 10, train_size: 1024, test_size: 64, size: 6}
train: {epochs: 4, device: cpu, threads: 1}
sweep:
  train.optimizer.lr: [0.003, 0.01, 0.03, 0.3]
  halving: {metric: val_acc, eta: 2, min_epochs: 1}
)";

Json report_of(const fs::path& run) {
  return Json::parse(read_file(run / "report.json"));
}

// An epoch's figures that training decides (not its timings).
Json figures(const Json& epoch) {
  return {epoch["train_loss"], epoch["train_acc"], epoch["val_acc"], epoch["test_acc"]};
}

// Checks the search's end: 1 + 1 + 2 + 4 epochs trained, each once, the points that went on
// being the best at each rung, and the winner's epochs those of the same point run uninterrupted.
void check_search(const fs::path& sweep, const fs::path& file, const std::string& sets = "") {
  const Json index = index_of(sweep);
  int64_t total = 0;
  std::vector<std::pair<double, std::string>> rung1, rung2;
  std::string winner;
  for (const auto& p : index["points"]) {
    CHECK(p["status"] == "completed");
    const fs::path run = sweep / p["label"].get<std::string>();
    const Json report = report_of(run);
    const int64_t epochs = int64_t(report["epochs"].size());
    total += epochs;
    const std::string log = read_file(run / "log.txt");
    for (int64_t e = 1; e <= epochs; ++e) {  // each epoch trained once, across pauses
      const std::string line = "epoch " + std::to_string(e) + "/4:";
      CHECK(log.find(line) != std::string::npos);
      CHECK(log.find(line) == log.rfind(line));
    }
    rung1.push_back({report["epochs"][0]["val_acc"], p["label"]});
    if (epochs >= 2) rung2.push_back({report["epochs"][1]["val_acc"], p["label"]});
    if (epochs == 4) {
      winner = p["label"];
      CHECK(report.value("stopped_early", "") == "");
    } else {
      CHECK(report["stopped_early"].get<std::string>().rfind(
                "pruned at epoch " + std::to_string(epochs) + ": ", 0) == 0);
    }
  }
  CHECK(total == 8);
  // The two best at epoch 1 went on, and the best of them at epoch 2 (labels break no ties here).
  std::sort(rung1.rbegin(), rung1.rend());
  std::sort(rung2.rbegin(), rung2.rend());
  REQUIRE(rung2.size() == 2);
  CHECK(std::set<std::string>{rung1[0].second, rung1[1].second} ==
        std::set<std::string>{rung2[0].second, rung2[1].second});
  CHECK(rung2[0].second == winner);

  testing::TempDir alone;
  std::string out;
  const std::string lr = winner.substr(winner.find('=') + 1);
  REQUIRE(testing::run_dlx("run " + file.string() + sets + " --set train.optimizer.lr=" + lr +
                               " --folder " + (alone.path() / "run").string(),
                           out) == 0);
  const Json uninterrupted = report_of(alone.path() / "run");
  const Json promoted = report_of(sweep / winner);
  REQUIRE(promoted["epochs"].size() == 4);
  for (size_t e = 0; e < 4; ++e)
    CHECK(figures(promoted["epochs"][e]) == figures(uninterrupted["epochs"][e]));
}

}  // namespace

TEST_CASE("successive halving trains the best 1/eta further, resumed, and prunes the rest") {
  testing::TempDir dir;
  auto file = dir.write("halving.yaml", kHalving);
  std::string out;
  REQUIRE(dlx_sweep(file.string() + " --jobs 2 --runs " + (dir.path() / "runs").string(), out) ==
          0);
  CHECK(out.find("rungs at epochs 1, 2, 4, with 4, 2, 1 points") != std::string::npos);
  CHECK(out.find("1 completed, 3 pruned") != std::string::npos);
  CHECK(out.find("trained 8 epochs in all; every point to the end would train 16") !=
        std::string::npos);
  check_search(dir.path() / "runs/halving", file);
  // Started again, it finds everything done.
  REQUIRE(dlx_sweep(file.string() + " --runs " + (dir.path() / "runs").string(), out) == 0);
  CHECK(out.find("4 done earlier, 0 to run") != std::string::npos);
}

TEST_CASE("a search stopped with Ctrl-C and started again completes, repeating no epoch") {
  testing::TempDir dir;
  auto file = dir.write("halving.yaml", kHalving);
  const std::string sets = " --set data.synthetic.train_size=8192";
  const std::string args =
      file.string() + sets + " --jobs 2 --runs " + (dir.path() / "runs").string();
  const fs::path sweep = dir.path() / "runs/halving";
  CHECK(sweep_and_signal(args, sweep / "lr=0.003", "-INT -- -$pid") == 130);
  const Json index = index_of(sweep);
  int stopped = 0;
  for (const auto& p : index["points"]) stopped += p["status"] != "completed";
  CHECK(stopped > 0);
  std::string out;
  REQUIRE(dlx_sweep(args, out) == 0);
  check_search(sweep, file, sets);
}
