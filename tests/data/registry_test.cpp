// The dataset registry: its full list, each entry's geometry, and the checks made through it.
#include <doctest/doctest.h>

#include "framework/data/dataset.h"
#include "framework/data/registry.h"
#include "tests/helpers.h"

using namespace dlx;

TEST_CASE("the dataset registry holds exactly the built-in datasets, in order") {
  std::vector<std::string> names;
  for (const auto& d : data::builtin_datasets()) {
    names.push_back(d.name);
    CHECK_FALSE(d.help.empty());
    CHECK(d.stored);
    CHECK(d.load);
  }
  CHECK(names ==
        std::vector<std::string>{"fashion-mnist", "mnist", "cifar10", "folder", "synthetic"});
}

TEST_CASE("an unknown dataset is one line naming the known ones and the closest") {
  config::DataSpec spec;
  spec.dataset = "cifar-10";
  CHECK(testing::config_error([&] { data::geometry(spec); }) ==
        "<input>: error: data.dataset: expected one of fashion-mnist, mnist, cifar10, folder, "
        "synthetic, found 'cifar-10'; did you mean 'cifar10'?");
}

TEST_CASE("each dataset's geometry: its stored shape, then resize and augmentation") {
  config::DataSpec spec;
  CHECK(data::geometry(spec).input == std::vector<int64_t>{1, 28, 28});
  CHECK(data::geometry(spec).classes == 10);
  spec.dataset = "cifar10";
  CHECK(data::geometry(spec).input == std::vector<int64_t>{3, 32, 32});
  spec.resize = {40, 48};
  CHECK(data::geometry(spec).input == std::vector<int64_t>{3, 40, 48});
  spec.dataset = "synthetic";
  spec.resize = {};
  spec.synthetic.channels = 2, spec.synthetic.size = 9, spec.synthetic.classes = 5;
  CHECK(data::geometry(spec).input == std::vector<int64_t>{2, 9, 9});
  CHECK(data::geometry(spec).classes == 5);
  CHECK_FALSE(data::geometry(spec).images_decided);
  // data.channels converts a folder's images only: a stored dataset keeps its channels.
  spec.channels = 3;
  CHECK(data::geometry(spec).input[0] == 2);
}

TEST_CASE(
    "an augmentation that does not fit, or a normalisation of other channels, names its key") {
  config::DataSpec spec;
  config::AugmentSpec crop;
  crop.kind = config::AugmentKind::kRandomCrop;
  crop.crop.size = {30, 30};
  crop.path = "data.augment[0]";
  spec.augment = {crop};
  CHECK(testing::config_error([&] { data::geometry(spec); }) ==
        "<input>: error: data.augment[0].random_crop.size: 30x30 does not fit 28x28 images "
        "padded by 0 (at most 28x28)");
  spec.augment.clear();
  spec.normalize.kind = config::NormalizeKind::kGiven;
  spec.normalize.mean = {0.5, 0.5, 0.5}, spec.normalize.std = {0.2, 0.2, 0.2};
  CHECK(testing::config_error([&] { data::geometry(spec); }) ==
        "<input>: error: data.normalize: 3 means and stds for images of 1 channel");
}

TEST_CASE("a dataset's own requirements and its own validation split go through its entry") {
  config::DataSpec spec;
  spec.dataset = "folder";
  CHECK(testing::config_error([&] { data::check_data(spec); }) ==
        "<input>: error: data.root: a folder dataset needs data.root: the folder holding train/ "
        "and test/, each with a folder per class");
  testing::TempDir dir;
  spec.root = dir.path().string();
  CHECK_FALSE(data::has_validation(spec));
  std::filesystem::create_directories(dir.path() / "val");
  CHECK(data::has_validation(spec));
  spec.val_split = 0.1;
  CHECK(testing::config_error([&] { data::check_data(spec); }) ==
        "<input>: error: data.val_split: " + spec.root +
            "/val is the validation split: set data.val_split to 0, or move val/ away to hold "
            "out part of train/");
  config::DataSpec mnist;
  mnist.dataset = "mnist";
  CHECK_FALSE(data::has_validation(mnist));
  mnist.val_split = 0.2;
  CHECK(data::has_validation(mnist));
}
