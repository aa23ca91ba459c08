#include <doctest/doctest.h>

#include "framework/sweep/points.h"
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
  auto points = sweep::expand({file}, {"train.epochs=2", "data.batch_size=32,64"});
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
  auto points = sweep::expand({file}, {});
  CHECK(labels(points) == std::vector<std::string>{"lr=0.1,seed=5", "lr=0.1,seed=6",
                                                   "lr=0.2,seed=5", "lr=0.2,seed=6"});
  CHECK(sweep::load_point(points[3]).train.seed == 6);
}

TEST_CASE("several files make one sweep, their labels led by the experiment's name") {
  testing::TempDir dir;
  dir.write("m.yaml", kModel);
  auto a = dir.write("a.yaml", "name: small\nmodel: m.yaml\n");
  auto b = dir.write("b.yaml", "name: big\nmodel: m.yaml\n");
  CHECK(labels(sweep::expand({a, b}, {"train.optimizer.lr=0.1,1"})) ==
        std::vector<std::string>{"small,lr=0.1", "small,lr=1", "big,lr=0.1", "big,lr=1"});
  CHECK(labels(sweep::expand({a}, {})) == std::vector<std::string>{"base"});
}

TEST_CASE("keys with the same last part are labelled in full; odd characters are made safe") {
  testing::TempDir dir;
  dir.write("m.yaml", kModel);
  auto file = dir.write("exp.yaml", "model: m.yaml\n");
  auto points = sweep::expand({file}, {"data.synthetic.size=8,12", "model.layers.0.dense.units=10",
                                       "train.optimizer={type: adam},sgd"});
  CHECK(labels(points)[0] == "size=8,optimizer=_type__adam_");
  auto twice = sweep::expand(
      {file}, {"data.synthetic.train_size=8,9", "train.epochs=1", "data.synthetic.size=4,5"});
  CHECK(labels(twice)[0] == "train_size=8,size=4");
}

TEST_CASE("a bad swept value is an error naming the sweep entry") {
  testing::TempDir dir;
  dir.write("m.yaml", kModel);
  auto file = dir.write("exp.yaml", "model: m.yaml\nsweep:\n  train.optimizer.lr: [0.1, fast]\n");
  auto points = sweep::expand({file}, {});
  CHECK(
      testing::config_error([&] { sweep::load_point(points[1]); }) ==
      "sweep train.optimizer.lr=fast: error: train.optimizer.lr: expected a number, found 'fast'");
  auto bad = dir.write("bad.yaml", "model: m.yaml\nsweep:\n  train.optimizer.lr: 0.1\n");
  CHECK(testing::config_error([&] { sweep::expand({bad}, {}); }) ==
        bad.string() +
            ":3:23: error: sweep.train.optimizer.lr: expected a non-empty list of values, found "
            "'0.1'");
}
