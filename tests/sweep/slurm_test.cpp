// dlx sweep --slurm: the job array's script, and its tasks run here one index at a time, as
// Slurm would run them on a cluster, filling the same sweep folder a local sweep fills.
#include <doctest/doctest.h>

#include "framework/core/files.h"
#include "tests/helpers.h"

using namespace dlx;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {
const char* kSweep = R"(name: tiny-sweep
model:
  layers:
    - dense: {units: 4}
data:
  dataset: synthetic
  batch_size: 32
  synthetic: {train_size: 128, test_size: 64, size: 6, classes: 4, noise: 0.5}
train:
  epochs: 2
  optimizer: {type: sgd, lr: 0.1}
  device: cpu
  threads: 1
sweep:
  train.optimizer.lr: [0.05, 0.2, 0.5]
)";
}  // namespace

TEST_CASE("the Slurm job array's tasks, run locally, fill the sweep folder once") {
  testing::TempDir dir;
  const fs::path file = dir.write("tiny-sweep.yaml", kSweep), runs = dir.path() / "runs";
  std::string out;
  REQUIRE(testing::run_dlx("sweep " + file.string() + " --slurm --runs " + runs.string(), out) ==
          0);
  const fs::path script = runs / "tiny-sweep" / "sweep.sbatch";
  CHECK(out.find("sbatch " + script.string()) != std::string::npos);
  const std::string text = read_file(script);
  CHECK(text.find("#SBATCH --array=0-2\n") != std::string::npos);
  CHECK(text.find("--point \"$SLURM_ARRAY_TASK_ID\"") != std::string::npos);
  CHECK_FALSE(fs::exists(runs / "tiny-sweep" / "train.optimizer.lr=0.05"));  // nothing ran yet

  // --dry-run prints the same script and writes nothing.
  std::string dry;
  REQUIRE(testing::run_dlx("sweep " + file.string() + " --slurm --dry-run --runs " +
                               (dir.path() / "elsewhere").string(),
                           dry) == 0);
  CHECK(dry.find("#SBATCH --array=0-2") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path() / "elsewhere"));

  for (int task = 0; task < 3; ++task) {
    CAPTURE(task);
    CHECK(testing::run_command(
              "cd / && SLURM_ARRAY_TASK_ID=" + std::to_string(task) + " bash " + script.string(),
              out) == 0);
  }
  int completed = 0;
  for (const auto& e : fs::directory_iterator(runs / "tiny-sweep")) {
    if (!fs::exists(e.path() / "report.json")) continue;
    completed += Json::parse(read_file(e.path() / "report.json"))["status"] == "completed";
  }
  CHECK(completed == 3);

  // A task run again (Slurm requeues) skips its completed point.
  REQUIRE(testing::run_command("SLURM_ARRAY_TASK_ID=1 bash " + script.string(), out) == 0);
  CHECK(out.find("1 done earlier, 0 to run") != std::string::npos);
  // An index past the end is one clear line.
  CHECK(testing::run_command("SLURM_ARRAY_TASK_ID=3 bash " + script.string(), out) == 2);
  CHECK(out.find("--point: error: the sweep has points 0 to 2, found 3") != std::string::npos);

  REQUIRE(testing::run_dlx("compare " + (runs / "tiny-sweep").string() + " --format json", out) ==
          0);
  CHECK(Json::parse(out).size() == 3);
}
