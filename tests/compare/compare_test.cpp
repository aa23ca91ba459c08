#include <doctest/doctest.h>

#include "framework/compare/compare.h"
#include "framework/core/files.h"
#include "tests/helpers.h"

using namespace dlx;
using compare::Json;
namespace fs = std::filesystem;

namespace {

compare::RunRow row(const std::string& label, double lr, int seed, double acc, double loss) {
  compare::RunRow r;
  r.label = label;
  r.status = "completed";
  r.config = {
      {"name", "exp"}, {"train.optimizer.lr", lr}, {"train.seed", seed}, {"data.batch_size", 256}};
  r.final = {{"test_acc", acc},
             {"best_test_acc", acc},
             {"best_epoch", 10},
             {"train_loss", loss},
             {"mean_examples_per_sec", 1000.0},
             {"wall_seconds", 30.0}};
  r.spread = Json::object();
  return r;
}

std::vector<compare::RunRow> three_lrs() {
  return {row("a", 0.1, 0, 0.70, 0.9), row("b", 0.3, 0, 0.80, 0.6), row("c", 0.9, 0, 0.78, 0.5)};
}

}  // namespace

TEST_CASE("only the keys that differ between runs are shown") {
  CHECK(compare::differing_keys(three_lrs()) == std::vector<std::string>{"train.optimizer.lr"});
  compare::Options o;
  o.group_seeds = false;
  std::string table = compare::render(three_lrs(), o);
  CHECK(table.find("train.optimizer.lr") != std::string::npos);
  CHECK(table.find("batch_size") == std::string::npos);
}

TEST_CASE("the best run is marked by the chosen metric, lower being better for losses") {
  compare::Options o;
  o.format = "json";
  Json rows = Json::parse(compare::render(three_lrs(), o));
  CHECK(rows[1]["best"] == true);
  CHECK(rows[0]["best"] == false);
  o.metric = "train_loss";
  rows = Json::parse(compare::render(three_lrs(), o));
  CHECK(rows[2]["best"] == true);
}

TEST_CASE("sorting puts the best first for metrics, and --top keeps the first rows") {
  compare::Options o;
  o.format = "json";
  o.sort = "test_acc";
  o.top = 2;
  Json rows = Json::parse(compare::render(three_lrs(), o));
  REQUIRE(rows.size() == 2);
  CHECK(rows[0]["run"] == "b");
  CHECK(rows[1]["run"] == "c");
  o.sort = "train.optimizer.lr";
  o.top = 0;
  rows = Json::parse(compare::render(three_lrs(), o));
  CHECK(rows[0]["run"] == "a");
  CHECK(rows[2]["run"] == "c");
}

TEST_CASE("runs that differ only in seed are grouped as mean ± std with their count") {
  std::vector<compare::RunRow> rows{
      row("lr=0.1,seed=0", 0.1, 0, 0.70, 0.9), row("lr=0.1,seed=1", 0.1, 1, 0.74, 0.8),
      row("lr=0.3,seed=0", 0.3, 0, 0.80, 0.6), row("lr=0.3,seed=1", 0.3, 1, 0.80, 0.6)};
  auto grouped = compare::group_by_seed(rows);
  REQUIRE(grouped.size() == 2);
  CHECK(grouped[0].label == "lr=0.1,seed=*");
  CHECK(grouped[0].count == 2);
  CHECK(grouped[0].final["test_acc"].get<double>() == doctest::Approx(0.72));
  CHECK(grouped[0].spread["test_acc"].get<double>() == doctest::Approx(0.0282843).epsilon(1e-4));
  CHECK(grouped[1].spread["test_acc"].get<double>() == 0.0);
  compare::Options o;
  std::string table = compare::render(rows, o);
  CHECK(table.find("0.72 ± 0.02828") != std::string::npos);
  CHECK(table.find("train.seed") == std::string::npos);
}

TEST_CASE("--metric top5_acc judges by any recorded figure, averaged over seeds, and shows it") {
  std::vector<compare::RunRow> rows{
      row("lr=0.1,seed=0", 0.1, 0, 0.70, 0.9), row("lr=0.1,seed=1", 0.1, 1, 0.74, 0.8),
      row("lr=0.3,seed=0", 0.3, 0, 0.80, 0.6), row("lr=0.3,seed=1", 0.3, 1, 0.80, 0.6)};
  // The better top-1 run is the worse top-5 one.
  const double top5[] = {0.95, 0.97, 0.90, 0.92};
  for (size_t i = 0; i < rows.size(); ++i) rows[i].final["test_top5_acc"] = top5[i];
  CHECK(compare::judging_metric(rows, "top5_acc") == "test_top5_acc");
  rows[0].final["val_top5_acc"] = 0.9;
  CHECK(compare::judging_metric(rows, "top5_acc") == "val_top5_acc");
  CHECK(compare::judging_metric(rows, "") == "test_acc");
  rows[0].final.erase("val_top5_acc");
  compare::Options o;
  o.format = "json";
  o.metric = "top5_acc";
  const Json table = Json::parse(compare::render(rows, o));
  REQUIRE(table.size() == 2);
  CHECK(table[0]["best"] == true);
  CHECK(table[0]["final"]["test_top5_acc"].get<double>() == doctest::Approx(0.96));
  CHECK(table[1]["final"]["test_top5_acc"].get<double>() == doctest::Approx(0.91));
  o.format = "table";
  CHECK(compare::render(rows, o).find("test_top5_acc") != std::string::npos);
}

TEST_CASE("every format carries the same rows") {
  compare::Options o;
  o.group_seeds = false;
  o.format = "csv";
  std::string csv = compare::render(three_lrs(), o);
  CHECK(csv.rfind("run,train.optimizer.lr,test_acc,test_acc_std,", 0) == 0);
  CHECK(csv.find("\nb,0.3,0.8,,0.8,,10,0.6,,1000.0,,30,,1,completed,true\n") != std::string::npos);
  o.format = "markdown";
  std::string md = compare::render(three_lrs(), o);
  CHECK(md.rfind("|     | run | train.optimizer.lr | test_acc |", 0) == 0);
  CHECK(md.find("\n| --- | --- | ------------------ |") != std::string::npos);
  o.format = "table";
  std::string table = compare::render(three_lrs(), o);
  CHECK(table.find("\n*  b    0.3") != std::string::npos);
  o.format = "yaml";
  CHECK(testing::config_error([&] { compare::render(three_lrs(), o); }) ==
        "--format: error: expected one of table, json, csv, markdown, found 'yaml'");
}

TEST_CASE("a missing or corrupt report is a row that says so, never a crash") {
  testing::TempDir dir;
  fs::create_directories(dir.path() / "exp/run1");
  dir.write("exp/run1/config.yaml", "name: x\n");
  dir.write("exp/run2/report.json", "{\"schema\": \"dlx.run/1\", \"config\": ");
  dir.write(
      "exp/run3/report.json",
      R"({"schema": "dlx.run/1", "status": "completed", "config": {"train": {"seed": 1}}, "final": {"test_acc": 0.5}})");
  auto rows = compare::collect({dir.path() / "exp"});
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].label == "exp/run1");
  CHECK(rows[0].status == "unreadable: no report.json");
  CHECK(rows[1].status == "unreadable: report.json is corrupt");
  CHECK(rows[2].status == "completed");
  CHECK(rows[2].config["train.seed"] == 1);
  compare::Options o;
  std::string table = compare::render(rows, o);
  CHECK(table.find("unreadable: report.json is corrupt") != std::string::npos);
  CHECK(testing::runtime_error([&] { compare::collect({dir.path() / "nothing"}); }) ==
        (dir.path() / "nothing").string() + ": no such run, sweep or report");
}

TEST_CASE("--plot overlays the runs' curves and draws test accuracy against the swept key") {
  auto rows = three_lrs();
  rows[0].config["train.optimizer.lr"] = 0.01;  // 0.01 .. 0.9 spans more than 10x: a log axis
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].epochs = {testing::epoch_record(1, 1.0, 0.5),
                      testing::epoch_record(2, 0.8, 0.6 + 0.1 * double(i))};
  }
  testing::TempDir dir;
  auto files = compare::write_plots(rows, dir.path() / "plots");
  REQUIRE(files.size() == 3);
  CHECK(files[2].filename() == "test_acc-vs-train.optimizer.lr.svg");
  std::string curves = read_file(files[0]);
  CHECK(curves.find(">a</text>") != std::string::npos);
  CHECK(curves.find(">c</text>") != std::string::npos);
  std::string against = read_file(files[2]);
  CHECK(against.find("(log scale)") != std::string::npos);
  CHECK(against.find(">0.01</text>") != std::string::npos);
}

TEST_CASE("a search's comparison names its best point and the epochs it saved, and draws them") {
  auto rows = three_lrs();  // a pruned at epoch 1, b at epoch 2, c trained to the end (3)
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].config["train.epochs"] = 3;
    rows[i].final["val_acc"] = 0.5 + 0.1 * double(i);
    for (size_t e = 1; e <= i + 1; ++e)
      rows[i].epochs.push_back(testing::epoch_record(int64_t(e), 1.0, 0.5));
  }
  compare::Options o;
  CHECK(compare::render(rows, o).find("best by val_acc: c (0.7); 6 epochs trained in all, against "
                                      "9 for every run to train.epochs") != std::string::npos);
  testing::TempDir dir;
  auto files = compare::write_plots(rows, dir.path() / "plots");
  REQUIRE(files.size() == 3);
  CHECK(files[2].filename() == "val_acc-vs-train.optimizer.lr.svg");
  const std::string against = read_file(files[2]);
  CHECK(against.find(">1 epochs</text>") != std::string::npos);
  CHECK(against.find(">3 epochs</text>") != std::string::npos);
  // Every run to the end: no such line.
  for (auto& r : rows) r.config["train.epochs"] = int64_t(r.epochs.size());
  CHECK(compare::render(rows, o).find("epochs trained in all") == std::string::npos);
}

TEST_CASE("a GPU run's peak memory is a column, lower being better; CPU runs show none") {
  compare::Options o;
  o.group_seeds = false;
  o.format = "csv";
  CHECK(compare::render(three_lrs(), o).find("peak_gpu") == std::string::npos);
  auto rows = three_lrs();
  rows[0].final["peak_gpu_allocated_mib"] = 900.0, rows[0].final["peak_gpu_reserved_mib"] = 1024.0;
  rows[1].final["peak_gpu_allocated_mib"] = 300.0, rows[1].final["peak_gpu_reserved_mib"] = 512.0;
  const std::string csv = compare::render(rows, o);
  CHECK(csv.find(",peak_gpu_allocated_mib,peak_gpu_allocated_mib_std,peak_gpu_reserved_mib,") !=
        std::string::npos);
  o.metric = "peak_gpu_allocated_mib";
  o.format = "json";
  const Json shown = Json::parse(compare::render(rows, o));
  REQUIRE(shown.size() == 3);
  for (const auto& r : shown) {
    CAPTURE(r["run"]);
    CHECK(r["best"] == (r["run"] == "b"));  // c, with no figure, is not judged
  }
}
