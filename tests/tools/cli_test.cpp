// The dlx program end to end: exit codes and the one line a user sees.
#include <doctest/doctest.h>

#include <sstream>

#include "framework/core/files.h"
#include "tests/helpers.h"

using namespace dlx;

TEST_CASE("dlx shapes prints the chapter's table") {
  std::string out;
  REQUIRE(testing::run_dlx("shapes " + (testing::source_dir() / "models/alexnet.yaml").string(),
                           out) == 0);
  CHECK(out.rfind("conv0 output shape:\t (1, 96, 54, 54)\npool0 output shape:\t (1, 96, 26, 26)\n",
                  0) == 0);
}

TEST_CASE("a config mistake is one line on stderr and exit code 2") {
  testing::TempDir dir;
  auto file = dir.write("bad.yaml", "model: m.yaml\n");
  dir.write("m.yaml", "layers: [dense: {units: 10}]\n");
  std::string out;
  CHECK(testing::run_dlx("validate " + file.string() + " --set train.optimizer.lr=fast", out) == 2);
  CHECK(out ==
        "--set train.optimizer.lr=fast: error: train.optimizer.lr: expected a number, found "
        "'fast'\n");
}

TEST_CASE("a runtime failure is one line and exit code 1") {
  testing::TempDir dir;
  auto file = dir.write(
      "exp.yaml",
      "model: {layers: [dense: {units: 10}]}\ndata: {dataset: mnist, root: /nonexistent}\n");
  std::string out;
  CHECK(testing::run_dlx("validate " + file.string(), out) == 1);
  CHECK(out == "dlx: error: data.root /nonexistent: no train-images-idx3-ubyte[.gz] there\n");
}

namespace {
// The subcommands `dlx --help` lists, in its order.
std::vector<std::string> listed_commands() {
  std::string out;
  testing::run_dlx("--help", out);
  std::vector<std::string> names;
  const size_t at = out.find("Subcommands:");
  std::istringstream lines(at == std::string::npos ? "" : out.substr(at));
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string name;
    if (words >> name) names.push_back(name);
  }
  return names;
}
}  // namespace

TEST_CASE("every command has --help, and a bad command line exits 2") {
  const std::vector<std::string> commands = listed_commands();
  CHECK(commands == std::vector<std::string>{"run", "shapes", "validate", "layers", "keys",
                                             "resume", "sweep", "compare", "predict", "export",
                                             "completion", "man"});
  std::string out;
  for (const auto& cmd : commands) {
    CAPTURE(cmd);
    CHECK(testing::run_dlx(cmd + " --help", out) == 0);
    CHECK(out.find("Usage") != std::string::npos);
  }
  CHECK(testing::run_dlx("frobnicate", out) == 2);
  CHECK(testing::run_dlx("run", out) == 2);
}

TEST_CASE("the references in docs/ are what the program says of itself") {
  for (const char* name : {"keys", "layers"}) {
    CAPTURE(name);
    std::string out;
    REQUIRE(testing::run_dlx(std::string(name) + " --markdown", out) == 0);
    CHECK(out == read_file(testing::source_dir() / "docs" / (std::string(name) + ".md")));
  }
}

TEST_CASE("dlx run trains a synthetic experiment end to end") {
  testing::TempDir dir;
  auto file = dir.write("exp.yaml", R"(model: {layers: [dense: {units: 4}]}
data: {dataset: synthetic, synthetic: {classes: 4, train_size: 256, test_size: 64, size: 6}}
train: {epochs: 2, optimizer: {lr: 0.1}, device: cpu}
)");
  std::string out;
  REQUIRE(testing::run_dlx("run " + file.string() + " --runs " + (dir.path() / "runs").string(),
                           out) == 0);
  CHECK(out.find("epoch 2/2: loss ") != std::string::npos);
  CHECK(out.find("status: completed") != std::string::npos);
}

TEST_CASE("SIGINT stops a run after the current step with status interrupted and exit 130") {
  testing::TempDir dir;
  auto file = dir.write("exp.yaml", R"(name: long
model: {layers: [dense: {units: 4}]}
data: {dataset: synthetic, batch_size: 1, synthetic: {classes: 4, train_size: 200000, test_size: 8, size: 4}}
train: {epochs: 1000, device: cpu, threads: 1}
)");
  auto runs = dir.path() / "runs";
  std::string out;
  // Wait until the run folder's report exists (the session writes it once its signal handlers
  // are in place), then interrupt it.
  std::string script = testing::dlx_binary() + " run " + file.string() + " --runs " +
                       runs.string() + " & pid=$!; for i in $(seq 600); do ls " + runs.string() +
                       "/long/*/report.json >/dev/null 2>&1 && break; sleep 0.1; done; "
                       "kill -INT $pid; wait $pid";
  CHECK(testing::run_command("bash -c '" + script + "'", out) == 130);
  CHECK(out.find("status: interrupted") != std::string::npos);
  std::string report;
  testing::run_command("cat " + runs.string() + "/long/*/report.json", report);
  CHECK(report.find("\"status\": \"interrupted\"") != std::string::npos);
}
