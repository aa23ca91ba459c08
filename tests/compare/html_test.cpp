// dlx compare --html: the page is self-contained, and (where Chromium is installed) a headless
// browser renders its table, its charts in the runs' colours and its per-class table.
#include <doctest/doctest.h>

#include "framework/compare/compare.h"
#include "framework/core/files.h"
#include "tests/helpers.h"

using namespace dlx;
using compare::Json;
namespace fs = std::filesystem;

namespace {

const char* kExperiment = R"(name: tiny
model:
  layers:
    - conv2d: {out_channels: 4, kernel_size: 3, padding: 1, activation: relu}
    - maxpool2d: {kernel_size: 2}
    - dense: {units: 4}
data:
  dataset: synthetic
  batch_size: 32
  synthetic: {train_size: 256, test_size: 128, size: 8, classes: 4, noise: 0.5}
train:
  epochs: 3
  optimizer: {type: sgd, lr: 0.05}
  seed: 1
  device: cpu
  threads: 1
)";

// Two real runs that differ in their learning rate, and their page.
struct TwoRuns {
  testing::TempDir dir;
  fs::path page = dir.path() / "page.html";
  std::string output;
  TwoRuns() {
    fs::path file = dir.write("tiny.yaml", kExperiment);
    for (const char* lr : {"0.05", "0.3"}) {
      std::string out;
      REQUIRE(testing::run_dlx("run " + file.string() + " --runs " +
                                   (dir.path() / "runs").string() +
                                   " --set train.optimizer.lr=" + lr,
                               out) == 0);
    }
    REQUIRE(testing::run_dlx(
                "compare " + (dir.path() / "runs").string() + " --html " + page.string(), output) ==
            0);
  }
};

std::string chromium() {
  for (const char* candidate : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (fs::exists(candidate)) return candidate;
  }
  return "";
}

// Headless, with nothing that reaches out to a network.
std::string headless(const std::string& browser) {
  return browser +
         " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage"
         " --disable-background-networking --disable-component-update --disable-sync"
         " --disable-default-apps --no-first-run --hide-scrollbars --virtual-time-budget=5000"
         " --user-data-dir=";
}

}  // namespace

TEST_CASE("the HTML page is self-contained and its data cannot close its script element") {
  compare::RunRow row;
  row.label = "lr=0.1 </script><b>";
  row.status = "completed";
  row.config = {{"train.optimizer.lr", 0.1}};
  row.final = {{"test_acc", 0.5}};
  row.epochs = {testing::epoch_record(1, 1.0, 0.5)};
  compare::RunRow other = row;
  other.label = "lr=0.3";
  other.config["train.optimizer.lr"] = 0.3;
  std::string page = compare::render_html({row, other}, compare::Options{}, "test");
  CHECK(page.find("<script src") == std::string::npos);
  CHECK(page.find("<link") == std::string::npos);
  CHECK(page.find("uPlot") != std::string::npos);    // the library is inside
  CHECK(page.find("/*DLX_") == std::string::npos);   // every slot filled
  CHECK(testing::count_of(page, "</script>") == 3);  // uPlot, the data, the page's code
  CHECK(page.find("lr=0.1 \\u003c/script>") != std::string::npos);
}

TEST_CASE("a seed group's curves are its runs' mean, with their least and greatest values") {
  compare::RunRow a;
  a.label = "seed=0";
  a.status = "completed";
  a.config = {{"train.seed", 0}};
  a.epochs = {testing::epoch_record(1, 1.0, 0.5), testing::epoch_record(2, 0.5, 0.7)};
  compare::RunRow b = a;
  b.label = "seed=1";
  b.config["train.seed"] = 1;
  b.epochs = {testing::epoch_record(1, 0.8, 0.3), testing::epoch_record(2, 0.3, 0.9)};
  std::string page = compare::render_html({a, b}, compare::Options{}, "seeds");
  const size_t from = page.find("\"curves\":");
  REQUIRE(from != std::string::npos);
  const std::string curves = page.substr(from);
  CHECK(curves.find("\"runs\":2") != std::string::npos);
  CHECK(curves.find("\"test_acc\":0.8") != std::string::npos);  // epoch 2's mean of 0.7 and 0.9
  CHECK(curves.find("\"test_acc_min\":0.7,\"test_acc_max\":0.9") != std::string::npos);
}

TEST_CASE("the page draws every per-epoch metric some run recorded, live before EMA") {
  compare::RunRow a;
  a.label = "a";
  a.status = "completed";
  a.config = {{"train.seed", 0}};
  report::EpochRecord e = testing::epoch_record(1, 1.0, 0.5);
  e.set("val_acc", 0.4), e.set("val_loss", 1.2), e.set("test_top5_acc", 0.9);
  e.set("ema_val_acc", 0.45), e.set("lr", 0.1);
  a.epochs = {e};
  compare::RunRow b = a;
  b.label = "b";
  b.epochs = {testing::epoch_record(1, 0.9, 0.6)};
  const std::string page = compare::render_html({a, b}, compare::Options{}, "all");
  const size_t from = page.find("\"curve_metrics\":");
  REQUIRE(from != std::string::npos);
  const std::string list = page.substr(from, page.find(']', from) - from + 1);
  CHECK(list ==
        "\"curve_metrics\":[\"train_loss\",\"val_loss\",\"test_loss\",\"val_acc\",\"test_acc\","
        "\"ema_val_acc\",\"test_top5_acc\"]");
}

TEST_CASE("dlx compare --html writes a page that a headless Chromium renders") {
  TwoRuns runs;
  CHECK(runs.output.find("wrote " + runs.page.string()) != std::string::npos);
  const std::string page = read_file(runs.page);
  CHECK(page.find("\"train.optimizer.lr\"") != std::string::npos);
  CHECK(page.find("per_class_accuracy") != std::string::npos);

  const std::string browser = chromium();
  if (browser.empty())
    DLX_SKIP("Chromium is not installed (tools/setup --with-browser): the page was not opened");
  testing::TempDir profile;
  const std::string url = "file://" + runs.page.string();
  std::string dom;
  REQUIRE(testing::run_command(
              headless(browser) + profile.path().string() + " --dump-dom " + url + " 2>/dev/null",
              dom) == 0);
  CHECK(dom.find("data-rendered=\"yes\"") != std::string::npos);  // the script ran to its end
  // A chart per recorded metric (train and test loss and accuracy), and the metric against lr.
  CHECK(testing::count_of(dom, "class=\"uplot") == 5);
  CHECK(testing::count_of(dom, "class=\"legend-run") == 2);  // one legend for every chart
  CHECK(testing::count_of(dom, "data-key=\"train.optimizer.lr\"") == 1);
  CHECK(testing::count_of(dom, "<canvas") >= 4);
  CHECK(testing::count_of(dom, "0.05") >= 1);             // the runs, by their key
  CHECK(testing::count_of(dom, "<tr") >= 1 + 2 + 1 + 2);  // both tables, both runs

  const fs::path shot = profile.path() / "page.png";
  std::string out;
  REQUIRE(testing::run_command(headless(browser) + profile.path().string() + " --screenshot=" +
                                   shot.string() + " --window-size=1400,1400 " + url,
                               out) == 0);
  testing::Image image = testing::read_png(shot);
  CHECK(image.width == 1400);
  // Not blank: the first two runs' colours (the table's swatches and the chart lines).
  CHECK(image.count_near(0x1f77b4, 24) > 300);
  CHECK(image.count_near(0xff7f0e, 24) > 300);
}
