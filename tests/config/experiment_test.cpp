#include <doctest/doctest.h>

#include <ATen/ops/full.h>

#include "framework/config/experiment.h"
#include "framework/data/image_io.h"
#include "framework/experiment/experiment.h"
#include "framework/nn/builder.h"
#include "tests/helpers.h"

using namespace dlx;
using namespace dlx::config;

namespace {
const char* kTinyModel = R"(name: tiny
layers:
  - conv2d: {out_channels: 4, kernel_size: 3, activation: relu}
  - dense: {units: 10}
)";
}  // namespace

TEST_CASE("the chapter's experiment loads with its model inlined and the data's input shape") {
  ExperimentSpec spec =
      load_experiment(testing::source_dir() / "experiments/alexnet-fashion-mnist.yaml");
  CHECK(spec.name == "alexnet-fashion-mnist");
  CHECK(spec.model.name == "alexnet");
  CHECK(spec.model.layers.size() == 13);
  CHECK(spec.model.layers[0].type == "conv2d");
  CHECK(spec.model.input == std::vector<int64_t>{1, 224, 224});
  CHECK(spec.data.batch_size == 128);
  CHECK(spec.train.optimizer.type == OptimizerKind::kSgd);
  CHECK(spec.train.optimizer.lr == 0.01);
  CHECK(spec.train.init == InitKind::kXavierUniform);
  CHECK(spec.train.epochs == 10);
}

TEST_CASE("keys left out keep their declared defaults") {
  testing::TempDir dir;
  dir.write("m.yaml", kTinyModel);
  ExperimentSpec spec = experiment::load(dir.write("exp.yaml", "model: m.yaml\n"));
  CHECK(spec.name == "exp");  // the file's stem
  CHECK(spec.data.dataset == "fashion-mnist");
  CHECK(spec.data.batch_size == 256);
  CHECK(spec.train.optimizer.momentum == 0.0);
  CHECK(spec.train.optimizer.betas == std::vector<double>{0.9, 0.999});
  CHECK(spec.train.device == "auto");
  CHECK(spec.model.input == std::vector<int64_t>{1, 28, 28});
}

TEST_CASE("a model may be written inline") {
  testing::TempDir dir;
  auto file = dir.write("exp.yaml", R"(model:
  layers:
    - flatten
    - dense: {units: 10}
)");
  ExperimentSpec spec = load_experiment(file);
  REQUIRE(spec.model.layers.size() == 2);
  CHECK(spec.model.layers[0].type == "flatten");
  CHECK(spec.model.layers[1].type == "dense");
  CHECK(spec.model.layers[1].path == "model.layers[1]");
}

TEST_CASE("--set overrides are typed like the key they set, list items included") {
  testing::TempDir dir;
  dir.write("m.yaml", kTinyModel);
  auto file = dir.write("exp.yaml", "model: m.yaml\n");
  ExperimentSpec spec = load_experiment(
      file, {parse_override("train.optimizer.lr=0.03"), parse_override("data.batch_size=64"),
             parse_override("train.optimizer={type: adam, lr: 0.001}"),
             parse_override("model.layers.0.conv2d.out_channels=8")});
  CHECK(spec.train.optimizer.type == OptimizerKind::kAdam);
  CHECK(spec.train.optimizer.lr == 0.001);  // the later override wins
  CHECK(spec.data.batch_size == 64);
  CHECK(spec.model.layers[0].args["out_channels"].as<int>() == 8);
}

TEST_CASE("base: merges mappings key by key and replaces lists whole") {
  testing::TempDir dir;
  dir.write("m.yaml", kTinyModel);
  dir.write("base.yaml", R"(model: m.yaml
data: {batch_size: 32, resize: 0}
train:
  epochs: 3
  optimizer: {type: sgd, lr: 0.5, momentum: 0.9}
  scheduler: {type: multistep, milestones: [1, 2]}
)");
  auto file = dir.write("exp.yaml", R"(base: base.yaml
train:
  optimizer: {lr: 0.1}
  scheduler: {milestones: [2]}
)");
  ExperimentSpec spec = load_experiment(file);
  CHECK(spec.data.batch_size == 32);
  CHECK(spec.train.epochs == 3);
  CHECK(spec.train.optimizer.lr == 0.1);
  CHECK(spec.train.optimizer.momentum == 0.9);
  CHECK(spec.train.scheduler.milestones == std::vector<int64_t>{2});
  CHECK(spec.model.name == "tiny");
}

TEST_CASE("the resolved config re-loads to the same config and hash") {
  ExperimentSpec spec =
      load_experiment(testing::source_dir() / "experiments/lenet-fashion-mnist.yaml",
                      {parse_override("train.optimizer.lr=0.3")});
  Json resolved = resolved_json(spec);
  testing::TempDir dir;
  ExperimentSpec again = load_experiment(dir.write("config.yaml", to_yaml(resolved)));
  CHECK(resolved_json(again).dump() == resolved.dump());
  CHECK(config_identity(resolved_json(again)) == config_identity(resolved));
  CHECK(config_identity(resolved).size() == 16);
  spec.train.optimizer.lr = 0.9;
  CHECK(config_identity(resolved_json(spec)) != config_identity(resolved));
}

TEST_CASE("a string that looks like a number stays a string through config.yaml") {
  testing::TempDir dir;
  dir.write("m.yaml", kTinyModel);
  ExperimentSpec spec = load_experiment(dir.write("exp.yaml", "name: '2024'\nmodel: m.yaml\n"));
  ExperimentSpec again = load_experiment(dir.write("config.yaml", to_yaml(resolved_json(spec))));
  CHECK(again.name == "2024");
}

TEST_CASE("configs differ by value, not by the order a tool wrote a mapping's keys in") {
  using OJson = nlohmann::ordered_json;
  OJson a = OJson::parse(R"({"model": {"layers": [{"dense": {"units": 4, "activation": "relu"}}]},
                             "train": {"seed": 1, "epochs": 2}})");
  OJson b = OJson::parse(R"({"train": {"epochs": 2, "seed": 1},
                             "model": {"layers": [{"dense": {"activation": "relu", "units": 4}}]}})");
  CHECK(config::differing_keys(a, b).empty());
  b["model"]["layers"][0]["dense"]["units"] = 8;
  b["train"]["seed"] = 2;
  CHECK(config::differing_keys(a, b) == std::vector<std::string>{"model.layers", "train.seed"});
}

TEST_CASE("a key a newer dlx adds with its old behaviour as default leaves the identity alone") {
  ExperimentSpec spec =
      load_experiment(testing::source_dir() / "experiments/lenet-fashion-mnist.yaml");
  Json resolved = resolved_json(spec);
  // As a release before train.cudnn_benchmark (default false) wrote the config: without it.
  Json older = resolved;
  older["train"].erase("cudnn_benchmark");
  CHECK(config_identity(older) == config_identity(resolved));
  CHECK(identity_differences(older, resolved).empty());
  // Set to its non-default value, the key is part of the identity.
  Json changed = resolved;
  changed["train"]["cudnn_benchmark"] = true;
  CHECK(config_identity(changed) != config_identity(resolved));
  CHECK(identity_differences(older, changed) == std::vector<std::string>{"train.cudnn_benchmark"});
  // Only what differs from the defaults is kept, nested as in the config.
  Json kept = non_default_json(resolved);
  CHECK(kept["train"]["optimizer"]["lr"] == 0.9);
  CHECK_FALSE(kept["train"].contains("cudnn_benchmark"));
  CHECK_FALSE(kept.contains("version"));
  CHECK(with_defaults(older)["train"]["cudnn_benchmark"] == false);
}

TEST_CASE("every named choice has a name, and the names are the registries' full lists") {
  CHECK(choice_names<SelectKind>() == std::vector<std::string>{"auto", "last", "val_acc",
                                                               "val_loss", "ema", "ema_val_acc",
                                                               "ema_val_loss"});
  CHECK(choice_names<OptimizerKind>() == std::vector<std::string>{"sgd", "adam", "adamw"});
  CHECK(choice_names<PrecisionKind>() == std::vector<std::string>{"fp32", "bf16", "fp16"});
  CHECK(choice_names<SchedulerKind>() ==
        std::vector<std::string>{"none", "step", "multistep", "cosine"});
  CHECK(choice_names<InitKind>() == std::vector<std::string>{"default", "xavier_uniform",
                                                             "xavier_normal", "kaiming_uniform",
                                                             "kaiming_normal"});
  CHECK(std::string(choice_name(InitKind::kKaimingNormal)) == "kaiming_normal");
  CHECK(parse_choice<OptimizerKind>("adamw") == OptimizerKind::kAdamW);
  CHECK_FALSE(parse_choice<OptimizerKind>("lion").has_value());
}

TEST_CASE("every shipped experiment loads and its network builds") {
  // A folder experiment's images decide its classes: ten classes of one 28x28 image each.
  testing::TempDir images;
  for (const char* part : {"train", "test"})
    for (int c = 0; c < 10; ++c)
      images.write(std::string(part) + "/class" + std::to_string(c) + "/0.png",
                   data::encode_png(at::full({1, 28, 28}, 20 * c, at::kByte)));
  for (const auto& entry :
       std::filesystem::directory_iterator(testing::source_dir() / "experiments")) {
    if (entry.is_directory()) continue;  // recipes/: bases, loaded below
    CAPTURE(entry.path());
    ExperimentSpec spec = load_experiment(entry.path());
    if (spec.data.dataset == "folder") spec.data.root = images.path().string();
    CHECK_FALSE(spec.name.empty());
    CHECK(experiment::build_network(spec).parameters() > 0);
  }
}

TEST_CASE(
    "every recipe in experiments/recipes is a base that an experiment loads and trains from") {
  testing::TempDir dir;
  size_t recipes = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(testing::source_dir() / "experiments" / "recipes")) {
    CAPTURE(entry.path());
    const auto file = dir.write("uses-recipe.yaml", "base: " + entry.path().string() + R"(
name: uses-recipe
model:
  layers:
    - conv2d: {out_channels: 4, kernel_size: 3}
    - adaptive_avgpool2d: {output_size: 1}
    - flatten
    - dense: {units: 10}
data: {dataset: fashion-mnist}
)");
    const ExperimentSpec spec = load_experiment(file);
    CHECK(spec.train.mix.on());
    CHECK(spec.train.scheduler.warmup_epochs == 5);
    CHECK(spec.train.metrics == std::vector<std::string>{"top5_acc"});
    CHECK(spec.data.val_crop == config::Size2{224, 224});
    CHECK(experiment::build_network(spec).parameters() > 0);
    ++recipes;
  }
  CHECK(recipes == 2);
}

TEST_CASE("a config holding bytes that are not UTF-8 still has an identity") {
  testing::TempDir dir;
  dir.write("m.yaml", kTinyModel);
  // Reading refuses such bytes (errors_test); a spec filled in code may still hold them.
  ExperimentSpec spec = load_experiment(dir.write("exp.yaml", "model: m.yaml\n"));
  spec.description = "caf\xff\xfe";
  Json resolved = resolved_json(spec);
  CHECK(config_identity(resolved).size() == 16);  // found by the fuzzer: this used to throw
}
