#include <doctest/doctest.h>

#include <regex>
#include <set>

#include "framework/config/sweep_points.h"
#include "framework/config/sweep_search.h"
#include "tests/helpers.h"

using namespace dlx;

namespace {
const char* kModel = "layers:\n  - dense: {units: 10}\n";

std::vector<std::string> labels(const std::vector<sweep::Point>& points) {
  std::vector<std::string> out;
  for (const auto& p : points) out.push_back(p.label);
  return out;
}
}  // namespace

TEST_CASE("values split at top-level commas only, as Hydra does") {
  CHECK(sweep::split_values("0.01,0.03,0.1") == std::vector<std::string>{"0.01", "0.03", "0.1"});
  CHECK(sweep::split_values("[1, 2],[3, 4]") == std::vector<std::string>{"[1, 2]", "[3, 4]"});
  CHECK(sweep::split_values("{type: sgd, lr: 1},adam") ==
        std::vector<std::string>{"{type: sgd, lr: 1}", "adam"});
  CHECK(sweep::split_values("'a,b',c") == std::vector<std::string>{"'a,b'", "c"});
  CHECK(sweep::split_values("0.5") == std::vector<std::string>{"0.5"});
}

TEST_CASE("a sweep is the grid product of the file's and the command line's lists") {
  testing::TempDir dir;
  dir.write("m.yaml", kModel);
  auto file = dir.write("exp.yaml", R"(model: m.yaml
sweep:
  train.optimizer.lr: [0.1, 0.3]
  train.optimizer.momentum: [0, 0.9]
)");
  auto points = sweep::expand({file}, {"train.epochs=2", "data.batch_size=32,64"}).points;
  CHECK(labels(points) ==
        std::vector<std::string>{
            "lr=0.1,momentum=0,batch_size=32", "lr=0.1,momentum=0,batch_size=64",
            "lr=0.1,momentum=0.9,batch_size=32", "lr=0.1,momentum=0.9,batch_size=64",
            "lr=0.3,momentum=0,batch_size=32", "lr=0.3,momentum=0,batch_size=64",
            "lr=0.3,momentum=0.9,batch_size=32", "lr=0.3,momentum=0.9,batch_size=64"});
  config::ExperimentSpec spec = sweep::load_point(points[5]);
  CHECK(spec.train.optimizer.lr == 0.3);
  CHECK(spec.train.optimizer.momentum == 0.0);
  CHECK(spec.data.batch_size == 64);
  CHECK(spec.train.epochs == 2);  // a --set with one value applies to every point
}

TEST_CASE("repeat: N runs each point with N seeds from the experiment's own") {
  testing::TempDir dir;
  dir.write("m.yaml", kModel);
  auto file = dir.write(
      "exp.yaml",
      "model: m.yaml\ntrain: {seed: 5}\nsweep:\n  train.optimizer.lr: [0.1, 0.2]\n  repeat: 2\n");
  auto points = sweep::expand({file}, {}).points;
  CHECK(labels(points) == std::vector<std::string>{"lr=0.1,seed=5", "lr=0.1,seed=6",
                                                   "lr=0.2,seed=5", "lr=0.2,seed=6"});
  CHECK(sweep::load_point(points[3]).train.seed == 6);
}

TEST_CASE("several files make one sweep, their labels led by the experiment's name") {
  testing::TempDir dir;
  dir.write("m.yaml", kModel);
  auto a = dir.write("a.yaml", "name: small\nmodel: m.yaml\n");
  auto b = dir.write("b.yaml", "name: big\nmodel: m.yaml\n");
  CHECK(labels(sweep::expand({a, b}, {"train.optimizer.lr=0.1,1"}).points) ==
        std::vector<std::string>{"small,lr=0.1", "small,lr=1", "big,lr=0.1", "big,lr=1"});
  CHECK(labels(sweep::expand({a}, {}).points) == std::vector<std::string>{"base"});
}

TEST_CASE("keys with the same last part are labelled in full; odd characters are made safe") {
  testing::TempDir dir;
  dir.write("m.yaml", kModel);
  auto file = dir.write("exp.yaml", "model: m.yaml\n");
  auto points = sweep::expand({file}, {"data.synthetic.size=8,12", "model.layers.0.dense.units=10",
                                       "train.optimizer={type: adam},sgd"})
                    .points;
  CHECK(labels(points)[0] == "size=8,optimizer=_type__adam_");
  auto twice = sweep::expand({file}, {"data.synthetic.train_size=8,9", "train.epochs=1",
                                      "data.synthetic.size=4,5"})
                   .points;
  CHECK(labels(twice)[0] == "train_size=8,size=4");
}

TEST_CASE(
    "a swept key or value the experiment does not take is an error at its place in the file") {
  testing::TempDir dir;
  dir.write("m.yaml", kModel);
  auto file = dir.write("exp.yaml", "model: m.yaml\nsweep:\n  train.optimizer.lr: [0.1, fast]\n");
  CHECK(testing::config_error([&] { sweep::expand({file}, {}); }) ==
        file.string() + ":3:29: error: train.optimizer.lr: expected a number, found 'fast'");
  auto unknown = dir.write("unknown.yaml", "model: m.yaml\nsweep:\n  train.optimizer.lrr: [0.1]\n");
  CHECK(testing::config_error([&] { sweep::check_sweep(unknown, {}); }) ==
        unknown.string() +
            ":3:25: error: train.optimizer.lrr: expected one of the keys betas, eps, lr, momentum, "
            "nesterov, type, weight_decay, found unknown key 'lrr'; did you mean 'lr'?");
  auto drawn =
      dir.write("drawn.yaml",
                "model: m.yaml\nsweep:\n  data.batch_size: {uniform: [0.5, 4]}\n  samples: 2\n");
  CHECK(testing::config_error([&] { sweep::check_sweep(drawn, {}); }) ==
        drawn.string() + ":3:20: error: data.batch_size: expected an integer, found '0.5'");
  auto bad = dir.write("bad.yaml", "model: m.yaml\nsweep:\n  train.optimizer.lr: 0.1\n");
  CHECK(testing::config_error([&] { sweep::expand({bad}, {}).points; }) ==
        bad.string() +
            ":3:23: error: sweep.train.optimizer.lr: expected a non-empty list of values, or a "
            "distribution, found "
            "'0.1'");
}

TEST_CASE("sweep.samples: 0 is an error at its line") {
  testing::TempDir dir;
  dir.write("m.yaml", kModel);
  auto file =
      dir.write("exp.yaml",
                "model: m.yaml\nsweep:\n  train.optimizer.lr: {uniform: [0.1, 1]}\n  samples: 0\n");
  CHECK(testing::config_error([&] { sweep::check_sweep(file, {}); }) ==
        file.string() + ":4:12: error: sweep.samples: expected an integer >= 1, found '0'");
}

TEST_CASE("split_values keeps a function call's commas") {
  CHECK(sweep::split_values("choice(0.1,0.3),2") ==
        std::vector<std::string>{"choice(0.1,0.3)", "2"});
}

TEST_CASE("distributions draw seeded values in range, the same grid rows for each draw") {
  testing::TempDir dir;
  dir.write("m.yaml", kModel);
  auto write = [&](int seed) {
    return dir.write("exp" + std::to_string(seed) + ".yaml", R"(model: m.yaml
sweep:
  train.optimizer.lr: {loguniform: [0.01, 3]}
  train.optimizer.momentum: {uniform: [0.5, 0.9]}
  train.epochs: {int: [1, 4]}
  train.optimizer.type: {choice: [sgd, adam]}
  data.batch_size: [16, 32]
  samples: 60
  seed: )" + std::to_string(seed) + "\n");
  };
  const auto points = sweep::expand({write(0)}, {}).points;
  REQUIRE(points.size() == 120);  // 2 grid values x 60 draws
  std::set<int64_t> epochs;
  std::set<std::string> types;
  double lowest = 1e9, highest = 0;
  for (size_t i = 0; i < 60; ++i) {
    const config::ExperimentSpec spec = sweep::load_point(points[i]);
    CHECK(spec.data.batch_size == 16);
    CHECK(spec.train.optimizer.lr >= 0.01);
    CHECK(spec.train.optimizer.lr <= 3);
    lowest = std::min(lowest, spec.train.optimizer.lr);
    highest = std::max(highest, spec.train.optimizer.lr);
    CHECK(spec.train.optimizer.momentum >= 0.5);
    CHECK(spec.train.optimizer.momentum <= 0.9);
    epochs.insert(spec.train.epochs);
    types.insert(config::choice_name(spec.train.optimizer.type));
    // The second half repeats the draws with the grid's other value.
    CHECK(points[i + 60].label ==
          std::regex_replace(points[i].label, std::regex("batch_size=16"), "batch_size=32"));
  }
  CHECK(epochs == std::set<int64_t>{1, 2, 3, 4});
  CHECK(types == std::set<std::string>{"sgd", "adam"});
  CHECK(lowest < 0.03);  // log-uniform: about a fifth of draws fall in [0.01, 0.03]
  CHECK(highest > 1);
  CHECK(labels(sweep::expand({write(0)}, {}).points) == labels(points));  // same seed, same points
  CHECK(labels(sweep::expand({write(1)}, {}).points) != labels(points));
}

TEST_CASE("Hydra's sweep functions: range and choice list, interval and tag(log) draw") {
  testing::TempDir dir;
  dir.write("m.yaml", kModel);
  auto file = dir.write("exp.yaml", "model: m.yaml\n");
  CHECK(labels(sweep::expand({file}, {"train.optimizer.lr=range(0.1,0.5,0.1)"}).points) ==
        std::vector<std::string>{"lr=0.1", "lr=0.2", "lr=0.3", "lr=0.4"});
  CHECK(labels(sweep::expand({file}, {"train.epochs=range(3)"}).points) ==
        std::vector<std::string>{"epochs=0", "epochs=1", "epochs=2"});
  CHECK(labels(sweep::expand({file}, {"train.optimizer.lr=choice(0.1, 0.3)"}).points) ==
        std::vector<std::string>{"lr=0.1", "lr=0.3"});
  // One value is a fixed override, as a,b with one value is.
  const auto one = sweep::expand({file}, {"train.optimizer.lr=choice(0.3)"}).points;
  REQUIRE(one.size() == 1);
  CHECK(sweep::load_point(one[0]).train.optimizer.lr == 0.3);
  const auto drawn =
      sweep::expand({file}, {"train.optimizer.lr=tag(log, interval(0.001, 1))"}, 40).points;
  REQUIRE(drawn.size() == 40);
  int below_hundredth = 0;
  for (const auto& p : drawn) {
    const double lr = sweep::load_point(p).train.optimizer.lr;
    CHECK(lr >= 0.001);
    CHECK(lr <= 1);
    below_hundredth += lr < 0.01;
  }
  CHECK(below_hundredth >= 5);  // a third of log-uniform draws; a uniform draw gives ~0.4
  for (const auto& p :
       sweep::expand({file}, {"train.optimizer.lr=interval(0.5, 0.6)"}, 10).points) {
    CHECK(sweep::load_point(p).train.optimizer.lr >= 0.5);
    CHECK(sweep::load_point(p).train.optimizer.lr <= 0.6);
  }
}

TEST_CASE("a function call in --set is understood or refused in one line, never split") {
  testing::TempDir dir;
  dir.write("m.yaml", kModel);
  auto file = dir.write("exp.yaml", "model: m.yaml\n");
  auto error = [&](const std::string& set) {
    return testing::config_error([&] { sweep::expand({file}, {set}, 3).points; });
  };
  CHECK(error("train.optimizer.lr=rang(0.1,0.5)") ==
        "--set train.optimizer.lr=rang(0.1,0.5): error: train.optimizer.lr: expected a value, "
        "a,b,..., range(start, stop[, step]), choice(a, b, ...), interval(lo, hi) or tag(log, "
        "interval(lo, hi)), found 'rang(0.1,0.5)'");
  CHECK(error("train.optimizer.lr=range(0.1,0.5,0)").find("step is not 0") != std::string::npos);
  CHECK(error("train.optimizer.lr=interval(2,1)").find("lo < hi") != std::string::npos);
  CHECK(error("train.optimizer.lr=tag(log,interval(0,1))").find("lo > 0") != std::string::npos);
  CHECK(error("train.optimizer.lr=interval(a,1)").find("numbers in interval") != std::string::npos);
  CHECK(testing::config_error([&] {
          sweep::expand({file}, {"train.optimizer.lr=interval(0.1,1)"}).points;
        }).find("set sweep.samples (or --samples)") != std::string::npos);
}

TEST_CASE("a sweep function's number with NUL bytes is a ConfigError, never a crash") {
  // The fuzzer's input that made yaml-cpp terminate the process (a throw inside noexcept).
  const std::string text = " range(0" + std::string(45, '"') + "\x0e" + std::string(7, '\0') +
                           std::string(11, '"') + ", 10, 2)";
  // (A command line cannot hold a NUL byte; the text is the fuzzer's. It fails as a ConfigError,
  // as any mistake does, where it made the process abort before.)
  CHECK_THROWS_AS(sweep::parse_cli_values("k", text, "k=" + text), ConfigError);
}
