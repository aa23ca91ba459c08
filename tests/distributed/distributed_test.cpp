// Data-parallel training on c10d with Gloo over 127.0.0.1: two ranks with half the batch each
// reach the weights one process reaches with the whole batch, and a rank that dies fails the run.
#include <doctest/doctest.h>

#include <ATen/ops/allclose.h>
#include <torch/cuda.h>

#include "framework/core/files.h"
#include "framework/distributed/launch.h"
#include "framework/train/checkpoint.h"
#include "tests/helpers.h"

using namespace dlx;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

// No batch norm (its batch statistics would differ by rank) and no dropout (its masks would).
// 251 examples: the last step's 59 split 30/29 between the ranks, so the weighting is tested.
const char* kExperiment = R"(name: parallel
model:
  layers:
    - conv2d: {out_channels: 6, kernel_size: 3, padding: 1, activation: relu}
    - maxpool2d: {kernel_size: 2}
    - dense: {units: 16, activation: relu}
    - dense: {units: 4}
data:
  dataset: synthetic
  synthetic: {train_size: 251, test_size: 101, size: 8, classes: 4, noise: 0.5}
train:
  epochs: 2
  optimizer: {type: sgd, lr: 0.1, momentum: 0.9}
  init: xavier_uniform
  seed: 3
  device: cpu
)";

fs::path only_run(const fs::path& runs) {
  std::vector<fs::path> found;
  for (const auto& e : fs::recursive_directory_iterator(runs))
    if (e.path().filename() == "report.json") found.push_back(e.path().parent_path());
  REQUIRE(found.size() == 1);  // one report: only rank 0 writes
  return found[0];
}

// Trains the experiment on `device` in 1 rank with batch 64, then in 2 with batch 32 each, checks
// that both reach the same weights and curves, and returns the 2-rank run's folder.
fs::path two_ranks_agree_with_one(testing::TempDir& dir, const std::string& device) {
  fs::path file = dir.write("parallel.yaml", kExperiment);
  const std::string on = " --set train.device=" + device;
  std::string out;
  REQUIRE(testing::run_dlx("run " + file.string() + " --threads 1 --runs " +
                               (dir.path() / "one").string() + " --set data.batch_size=64" + on,
                           out) == 0);
  REQUIRE(testing::run_dlx("run " + file.string() + " --nproc 2 --runs " +
                               (dir.path() / "two").string() + " --set data.batch_size=32" + on,
                           out) == 0);
  CHECK(out.find("status: completed") != std::string::npos);
  const fs::path one = only_run(dir.path() / "one"), two = only_run(dir.path() / "two");
  auto a = train::read_weights(one / "checkpoint.pt"),
       b = train::read_weights(two / "checkpoint.pt");
  REQUIRE(a.size() == b.size());
  for (const auto& [name, tensor] : a) {
    CAPTURE(name);
    // Float sums in another order: equal to rounding, not bit for bit.
    CHECK(at::allclose(tensor, b.at(name), /*rtol=*/1e-4, /*atol=*/1e-5));
  }
  Json ra = Json::parse(read_file(one / "report.json")),
       rb = Json::parse(read_file(two / "report.json"));
  CHECK(rb["environment"]["world_size"] == 2);
  for (int e = 0; e < 2; ++e) {
    CHECK(ra["epochs"][e]["train_loss"].get<double>() ==
          doctest::Approx(rb["epochs"][e]["train_loss"].get<double>()).epsilon(1e-4));
    // The same predictions, but for a near-tie that rounding could tip (1 example is 0.004).
    for (const char* acc : {"train_acc", "test_acc"}) {
      CHECK(ra["epochs"][e][acc].get<double>() ==
            doctest::Approx(rb["epochs"][e][acc].get<double>()).epsilon(0.01));
    }
  }
  CHECK(rb["environment"]["device"].get<std::string>().rfind(device, 0) == 0);
  return two;
}

}  // namespace

TEST_CASE("2 ranks with batch B/2 each reach 1 rank's weights with batch B") {
  testing::TempDir dir;
  const fs::path two = two_ranks_agree_with_one(dir, "cpu");
  Json rb = Json::parse(read_file(two / "report.json"));
  std::string out;

  // Had it stopped mid-epoch, one process could not continue it exactly: resume says so.
  Json stopped = rb;
  stopped["status"] = "interrupted";
  stopped["interrupted_at"] = {{"epoch", 2}, {"step", 3}};
  write_file_atomic(two / "report.json", stopped.dump());
  CHECK(testing::run_dlx("resume " + two.string(), out) == 2);
  CAPTURE(out);
  CHECK(out.find("the run trained in 2 processes and stopped mid-epoch") != std::string::npos);
}

// One GPU allows this much of data parallelism: two ranks sharing it, over Gloo.
TEST_CASE("on CUDA, 2 ranks sharing the GPU over Gloo reach 1 rank's weights") {
  if (!torch::cuda::is_available()) DLX_SKIP("no CUDA device");
  testing::TempDir dir;
  two_ranks_agree_with_one(dir, "cuda");
}

TEST_CASE("a rank that dies fails the run on the others with a clear error, not a hang") {
  testing::TempDir dir;
  fs::path file = dir.write("parallel.yaml", kExperiment);
  const std::string runs = (dir.path() / "runs").string();
  const std::string rank =
      "WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(distributed::free_port()) +
      " ";
  const std::string run = " " + testing::dlx_binary() + " run " + file.string() +
                          " --threads 1 --dist-timeout 60 --set train.epochs=100000 --runs " + runs;
  // Rank 1 is killed once training is under way (rank 0 has written its first epoch, however
  // slow the machine); rank 0 must notice and end by itself.
  const std::string script =
      rank + "RANK=0 LOCAL_RANK=0" + run + " > " + (dir.path() / "r0.log").string() +
      " 2>&1 & r0=$!; " + rank + "RANK=1 LOCAL_RANK=1" + run + " > /dev/null 2>&1 & r1=$!; " +
      "for i in $(seq 1200); do test -n \"$(find " + runs +
      " -name metrics.jsonl -size +0 2>/dev/null)\" && break; " +
      "sleep 0.05; done; kill -9 $r1; " +
      "start=$(date +%s); wait $r0; echo exit=$? after=$(( $(date +%s) - start ))";
  std::string out;
  testing::run_command("bash -c '" + script + "'", out);
  CAPTURE(out);
  CHECK(out.find("exit=1") != std::string::npos);
  // Far below the 60 s timeout: a closed connection fails at once.
  const size_t at = out.find("after=");
  REQUIRE(at != std::string::npos);
  CHECK(std::stoi(out.substr(at + 6)) < 30);
  Json report = Json::parse(read_file(only_run(runs) / "report.json"));
  CHECK(report["status"] == "failed");
  CHECK(report["error"].get<std::string>().find("rank 0") != std::string::npos);
  const std::string log = read_file(dir.path() / "r0.log");
  CHECK(testing::count_of(log, "dlx: error: ") == 1);
}

TEST_CASE("a rank whose peers never come fails after the timeout, with a failed report") {
  testing::TempDir dir;
  fs::path file = dir.write("parallel.yaml", kExperiment);
  const std::string runs = (dir.path() / "runs").string();
  std::string out;
  const int code = testing::run_command(
      "WORLD_SIZE=2 RANK=0 LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=" +
          std::to_string(distributed::free_port()) + " " + testing::dlx_binary() + " run " +
          file.string() + " --threads 1 --dist-timeout 2 --runs " + runs,
      out);
  CAPTURE(out);
  CHECK(code == 1);
  CHECK(testing::count_of(out, "dlx: error: ") == 1);
  CHECK(out.find("could not join the others") != std::string::npos);
  Json report = Json::parse(read_file(only_run(runs) / "report.json"));
  CHECK(report["status"] == "failed");
  CHECK(report["error"].get<std::string>().find("rank 0 of 2 could not join") != std::string::npos);
}
