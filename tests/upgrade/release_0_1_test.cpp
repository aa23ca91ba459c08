// Runs written by dlx 0.1.0, the release before config identities of non-default values and the
// report type (tests/fixtures/release-0.1, made with that release's binary): a newer dlx must
// take them as its own. A restarted sweep skips their completed points (nothing moved aside or
// retrained), an interrupted run resumes to the result of an uninterrupted run (to float
// precision: its first epoch ran on another machine), and
// `dlx compare` reads both.
#include <doctest/doctest.h>

#include <ATen/ops/allclose.h>

#include "framework/core/files.h"
#include "framework/train/checkpoint.h"
#include "tests/helpers.h"

using namespace dlx;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

// A writable copy of the fixtures, as a user's project folder holds them.
fs::path copy_fixtures(const testing::TempDir& dir) {
  const fs::path from = testing::source_dir() / "tests/fixtures/release-0.1";
  fs::copy(from / "tiny.yaml", dir.path() / "tiny.yaml");
  fs::create_directories(dir.path() / "runs");
  fs::copy(from / "sweep", dir.path() / "runs/sweep", fs::copy_options::recursive);
  fs::copy(from / "interrupted", dir.path() / "interrupted", fs::copy_options::recursive);
  return dir.path();
}

}  // namespace

TEST_CASE("a sweep written by release 0.1 is skipped as done when started again") {
  testing::TempDir dir;
  const fs::path root = copy_fixtures(dir);
  const std::string before = read_file(root / "runs/sweep/lr=0.05/checkpoint.pt");
  std::string out;
  REQUIRE(testing::run_dlx("sweep " + (root / "tiny.yaml").string() +
                               " --set train.optimizer.lr=0.05,0.1 --set train.epochs=1 --runs " +
                               (root / "runs").string() + " --name sweep",
                           out) == 0);
  CAPTURE(out);
  CHECK(out.find("2 points, 2 done earlier, 0 to run") != std::string::npos);
  CHECK(out.find("config changed") == std::string::npos);
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(root / "runs/sweep"))
    entries.push_back(e.path().filename().string());
  std::sort(entries.begin(), entries.end());
  CHECK(entries == std::vector<std::string>{"lr=0.05", "lr=0.1", "sweep.json"});  // none aside
  CHECK(read_file(root / "runs/sweep/lr=0.05/checkpoint.pt") == before);          // not retrained
  Json index = Json::parse(read_file(root / "runs/sweep/sweep.json"));
  CHECK(index["points"][0]["status"] == "completed");
  CHECK(index["points"][1]["final"]["test_acc"].is_number());
}

TEST_CASE("dlx compare reads release 0.1's sweep and run folders") {
  testing::TempDir dir;
  const fs::path root = copy_fixtures(dir);
  std::string out;
  REQUIRE(testing::run_dlx("compare " + (root / "runs/sweep").string() + " " +
                               (root / "interrupted").string() + " --format json",
                           out) == 0);
  Json rows = Json::parse(out);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0]["run"] == "sweep/lr=0.05");
  CHECK(rows[0]["status"] == "completed");
  CHECK(rows[0]["final"]["test_acc"].get<double>() > 0.5);
  CHECK(rows[2]["status"] == "interrupted");
  // Keys the old release did not have are shown at their defaults, so only real differences
  // (the learning rate, and the epochs the sweep set) are listed.
  std::vector<std::string> keys;
  for (const auto& [key, value] : rows[0]["config"].items()) keys.push_back(key);
  CHECK(keys == std::vector<std::string>{"train.epochs", "train.optimizer.lr"});
}

TEST_CASE("a run interrupted under release 0.1 resumes to the uninterrupted run's result") {
  testing::TempDir dir;
  const fs::path root = copy_fixtures(dir);
  std::string out;
  REQUIRE(testing::run_dlx("resume " + (root / "interrupted").string(), out) == 0);
  CAPTURE(out);
  CHECK(out.find("resuming at epoch 2") != std::string::npos);
  REQUIRE(testing::run_dlx(
              "run " + (root / "tiny.yaml").string() + " --folder " + (root / "fresh").string(),
              out) == 0);
  auto resumed = train::read_weights(root / "interrupted/checkpoint.pt");
  auto fresh = train::read_weights(root / "fresh/checkpoint.pt");
  REQUIRE(resumed.size() == fresh.size());
  // Epoch 1 was trained by release 0.1 on the machine that made the fixture; this machine's
  // kernels (AVX2 or AVX-512) round its sums differently in the last bits, so the runs agree
  // to float precision, not bit for bit. A resume that lost the optimizer's momentum or the
  // generator's state (dropout's masks) would differ by orders of magnitude more.
  for (const auto& [name, tensor] : fresh) {
    CAPTURE(name);
    CAPTURE((tensor - resumed.at(name)).abs().max().item<double>());
    CHECK(at::allclose(tensor, resumed.at(name), 1e-4, 1e-6));
  }
  Json a = Json::parse(read_file(root / "interrupted/report.json"));
  Json b = Json::parse(read_file(root / "fresh/report.json"));
  CHECK(a["status"] == "completed");
  CHECK(a["epochs"].size() == 3);
  for (size_t e = 0; e < 3; ++e)
    CHECK(a["epochs"][e]["train_loss"].get<double>() ==
          doctest::Approx(b["epochs"][e]["train_loss"].get<double>()).epsilon(1e-6));
  CHECK(a["config_hash"] == b["config_hash"]);
}
