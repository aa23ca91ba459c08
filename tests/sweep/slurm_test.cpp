// dlx sweep --slurm: the job array's script, and its tasks run here one index at a time, as
// Slurm would run them on a cluster, filling the same sweep folder a local sweep fills; a sweep
// larger than MaxArraySize laid out in fewer tasks; and both handed to a real one-node Slurm
// (tests/slurm/start-slurm.sh) when its programs are installed.
#include <doctest/doctest.h>

#include <chrono>
#include <regex>
#include <thread>

#include "framework/core/files.h"
#include "framework/sweep/slurm.h"
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

// The runs in a sweep's folder whose report says completed.
int completed_runs(const fs::path& sweep) {
  int completed = 0;
  for (const auto& e : fs::directory_iterator(sweep)) {
    if (!fs::exists(e.path() / "report.json")) continue;
    completed += Json::parse(read_file(e.path() / "report.json"))["status"] == "completed";
  }
  return completed;
}
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
  CHECK(completed_runs(runs / "tiny-sweep") == 3);

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

TEST_CASE("a sweep larger than MaxArraySize runs several points per task, and may be throttled") {
  sweep::SweepOptions options;
  options.name = "big", options.runs_root = "/runs";
  CHECK(sweep::slurm_layout(3000, 1001).tasks == 1000);
  CHECK(sweep::slurm_layout(3000, 1001).per_task == 3);
  CHECK(sweep::slurm_layout(1001, 1001).per_task == 1);
  CHECK(sweep::slurm_layout(1002, 1001).tasks == 501);
  const std::string text = sweep::slurm_script(options, 3000, {"dlx", "sweep"}, {1001, 50});
  CHECK(text.find("#SBATCH --array=0-999%50\n") != std::string::npos);
  CHECK(text.find("first=$((SLURM_ARRAY_TASK_ID * 3))\n"
                  "for ((point = first; point < first + 3 && point < 3000; point++)); do\n"
                  "  'dlx' 'sweep' --point \"$point\" || status=1\n") != std::string::npos);

  // Run as Slurm would run the last task: points 2997 to 2999, each given to the command.
  testing::TempDir dir;
  const auto script =
      dir.write("sweep.sbatch", sweep::slurm_script(options, 3000, {"echo", "ran"}, {1001, 0}));
  std::string out;
  CHECK(testing::run_command("SLURM_ARRAY_TASK_ID=999 bash " + script.string(), out) == 0);
  CHECK(out == "ran --point 2997\nran --point 2998\nran --point 2999\n");
}

namespace {
// kSweep's experiment with another `sweep:` section.
std::string with_sweep(const std::string& section) {
  const std::string text = kSweep;
  return text.substr(0, text.find("sweep:")) + "sweep:\n  " + section + "\n";
}

bool slurm_installed() {
  for (const char* program : {"/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged"})
    if (!fs::exists(program)) return false;
  std::string out;
  return testing::run_command("command -v sbatch && command -v squeue", out) == 0;
}

// A one-node Slurm on loopback for the test's life (tests/slurm/start-slurm.sh), and commands
// run against it.
class LocalSlurm {
 public:
  explicit LocalSlurm(const fs::path& dir) : dir_(dir) {
    std::string out;
    started_ = testing::run_command(script("start-slurm.sh"), out) == 0;
    if (!started_) FAIL_CHECK("start-slurm.sh failed: " << out);
  }
  ~LocalSlurm() {
    std::string out;
    testing::run_command(script("stop-slurm.sh"), out);
  }
  bool started() const { return started_; }
  /// Runs `command` with this Slurm's SLURM_CONF.
  int run(const std::string& command, std::string& out) const {
    return testing::run_command("SLURM_CONF=" + (dir_ / "slurm.conf").string() + " " + command,
                                out);
  }
  /// Whether job `id` has left the queue within `seconds` (polled).
  bool finished(const std::string& id, int seconds) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    std::string out;
    while (std::chrono::steady_clock::now() < deadline) {
      if (run("squeue -h -j " + id, out) == 0 && out.find_first_not_of(" \n") == std::string::npos)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

 private:
  std::string script(const char* name) const {
    return (testing::source_dir() / "tests/slurm" / name).string() + " " + dir_.string();
  }
  fs::path dir_;
  bool started_ = false;
};
}  // namespace

TEST_CASE("a 3,000-point search is accepted by a local Slurm, and a 2-point sweep runs there") {
  if (!slurm_installed()) DLX_SKIP("Slurm is not installed (slurmctld, slurmd, munge)");
  testing::TempDir dir;
  LocalSlurm slurm(dir.path() / "slurm");
  REQUIRE(slurm.started());
  const fs::path runs = dir.path() / "runs";
  std::string out;

  // The search dlx writes fits the cluster's MaxArraySize (read with scontrol: the default, 1001),
  // where one task per point would not: sbatch --test-only asks slurmctld without running a task.
  const auto big =
      dir.write("big.yaml", with_sweep("train.seed: {int: [0, 1000000]}\n  samples: 3000"));
  REQUIRE(slurm.run(testing::dlx_binary() + " sweep " + big.string() + " --slurm --runs " +
                        runs.string() + " --name big",
                    out) == 0);
  CHECK(out.find("(3000 points in 1000 tasks)") != std::string::npos);
  const fs::path big_script = runs / "big" / "sweep.sbatch";
  CHECK(read_file(big_script).find("#SBATCH --array=0-999\n") != std::string::npos);
  CHECK(slurm.run("sbatch --test-only " + big_script.string() + " 2>&1", out) == 0);
  CHECK(slurm.run("sbatch --test-only --array=0-2999 " + big_script.string() + " 2>&1", out) != 0);
  CHECK(out.find("Invalid job array specification") != std::string::npos);

  // A small sweep runs to completion: submitted, polled until it leaves the queue.
  const auto small = dir.write("small.yaml", with_sweep("train.optimizer.lr: [0.05, 0.2]"));
  REQUIRE(slurm.run(testing::dlx_binary() + " sweep " + small.string() + " --slurm --runs " +
                        runs.string() + " --name small",
                    out) == 0);
  REQUIRE(slurm.run("sbatch --parsable " + (runs / "small" / "sweep.sbatch").string(), out) == 0);
  const std::string id = out.substr(0, out.find_first_of(";\n"));
  REQUIRE(slurm.finished(id, 120));
  CHECK(completed_runs(runs / "small") == 2);
}
