#include <doctest/doctest.h>

#include "framework/core/error.h"

using namespace dlx;

TEST_CASE("a config error reads as one line: file, line, column, key, expected, found, hint") {
  ConfigError e({"a.yaml", 3, 7}, "train.epochs", "an integer >= 1", "'0'", "did you mean 'x'?");
  CHECK(std::string(e.what()) ==
        "a.yaml:3:7: error: train.epochs: expected an integer >= 1, found '0'; did you mean 'x'?");
}

TEST_CASE("a location without a line names the file alone") {
  CHECK(Location{"--set a=b"}.str() == "--set a=b");
}

TEST_CASE("closest_match finds a typo but not a different word") {
  std::vector<std::string> keys{"epochs", "optimizer", "scheduler", "seed"};
  CHECK(closest_match("optimiser", keys) == "optimizer");
  CHECK(closest_match("epoch", keys) == "epochs");
  CHECK(closest_match("Seed", keys) == "seed");
  CHECK(closest_match("batch_size", keys) == "");
  CHECK(did_you_mean("sedd", keys) == "did you mean 'seed'?");
}
