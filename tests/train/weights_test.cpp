// model.weights against files PyTorch and torchvision wrote (python3-torchvision, in the test):
// both of torch.save's formats, the nestings and prefixes published checkpoints have, and the
// logits of torchvision's own model on the same input; then files that must be refused with one
// line, and every truncation of a real archive refused without a crash.
#include <doctest/doctest.h>

#include <torch/serialize.h>

#include <iterator>
#include <sstream>

#include "framework/core/files.h"
#include "framework/core/torch_file.h"
#include "framework/experiment/experiment.h"
#include "framework/report/run_report.h"
#include "framework/train/checkpoint.h"
#include "framework/train/optim.h"
#include "framework/train/run.h"
#include "framework/train/session.h"
#include "framework/train/weights.h"
#include "tests/helpers.h"

using namespace dlx;
namespace fs = std::filesystem;

namespace {

// torchvision's resnet18 weights (random, statistics moved) in every form torchvision_weights.py
// writes, made once for the tests below.
const fs::path& torchvision_files() {
  static testing::TempDir dir;
  static bool made = [] {
    std::string out;
    const int code = testing::run_command(
        "/usr/bin/python3 " +
            (testing::source_dir() / "tests/train/torchvision_weights.py").string() + " " +
            dir.path().string() + " resnet18 64",
        out);
    INFO(out);
    return code == 0;
  }();
  if (!made) throw std::runtime_error("torchvision_weights.py failed");
  return dir.path();
}

bool have_torchvision() {
  std::string out;
  return testing::run_command("/usr/bin/python3 -c 'import torchvision'", out) == 0;
}

nn::Network resnet18(int64_t size = 64) {
  const config::ModelSpec spec =
      config::load_model(testing::source_dir() / "models/torchvision/resnet18.yaml");
  return nn::build_network(spec, {3, size, size});
}

config::WeightsSpec file(const fs::path& path) {
  config::WeightsSpec w;
  w.file = path.string();
  return w;
}

train::StartedFrom start(nn::Network& net, const config::WeightsSpec& w) {
  return train::start_from_weights(net, w, Location{"exp.yaml", 3, 3});
}

// The largest difference of dlx's logits from torchvision's, relative to the largest logit.
double logits_error(nn::Network& net) {
  const std::string bytes = read_file(torchvision_files() / "io.pt");
  const c10::IValue io = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  const auto dict = io.toGenericDict();
  const at::Tensor x = dict.at("input").toTensor(), expected = dict.at("output").toTensor();
  torch::NoGradGuard no_grad;
  net.body->eval();
  const at::Tensor got = net.body->forward(x);
  return ((got - expected).abs().max() / expected.abs().max()).item<double>();
}

}  // namespace

TEST_CASE("torchvision's resnet18 weights give torchvision's logits, from every form of file") {
  if (!have_torchvision()) DLX_SKIP("no python3 with torchvision (Debian's python3-torchvision)");
  for (const char* name : {"plain.pt", "legacy.pt", "nested.pt", "module.pt"}) {
    CAPTURE(name);
    nn::Network net = resnet18();
    const train::StartedFrom from = start(net, file(torchvision_files() / name));
    CHECK(from.loaded == 122);  // every parameter and buffer of resnet18's state_dict
    CHECK(from.fresh.empty());
    CHECK(logits_error(net) < 1e-5);
    const std::string notes = from.notes.empty() ? "" : from.notes[0];
    if (std::string(name) == "nested.pt") CHECK(notes == "the state_dict under 'model'");
    if (std::string(name) == "module.pt") CHECK(from.notes.size() == 2);
  }
}

TEST_CASE("a head of other classes is left new with a note; `new:` leaves what it names") {
  if (!have_torchvision()) DLX_SKIP("no python3 with torchvision (Debian's python3-torchvision)");
  config::ModelSpec spec =
      config::load_model(testing::source_dir() / "models/torchvision/resnet18.yaml",
                         {config::parse_override("args.num_classes=2", "--set")});
  nn::Network net = nn::build_network(spec, {3, 64, 64});
  const at::Tensor head_before = net.body->named_parameters()["fc.weight"].clone();
  train::StartedFrom from = start(net, file(torchvision_files() / "plain.pt"));
  CHECK(from.loaded == 120);
  CHECK(from.fresh == std::vector<std::string>{"fc.weight", "fc.bias"});
  REQUIRE(from.notes.size() == 1);
  CHECK(from.notes[0].find("fc.weight [1000, 512] in the file, [2, 512] in the model") !=
        std::string::npos);
  CHECK(at::equal(net.body->named_parameters()["fc.weight"], head_before));

  nn::Network other = resnet18();
  config::WeightsSpec w = file(torchvision_files() / "plain.pt");
  w.fresh = {"layer4.*", "fc.bias"};
  from = start(other, w);
  CHECK(from.fresh.size() == 31);  // layer4's 30 tensors and fc.bias
}

TEST_CASE("weights that do not fit are one line naming names, shapes and the prefix to strip") {
  if (!have_torchvision()) DLX_SKIP("no python3 with torchvision (Debian's python3-torchvision)");
  const config::ModelSpec resnet34 =
      config::load_model(testing::source_dir() / "models/torchvision/resnet34.yaml");
  nn::Network deeper = nn::build_network(resnet34, {3, 64, 64});
  std::string e =
      testing::config_error([&] { start(deeper, file(torchvision_files() / "plain.pt")); });
  CHECK(e.find("exp.yaml:3:3: error: model.weights: ") == 0);
  CHECK(e.find("of the model's 218 tensors are not in the file: layer1.2.conv1.weight") !=
        std::string::npos);
  CHECK(e.find('\n') == std::string::npos);

  nn::Network net = resnet18();
  e = testing::config_error([&] { start(net, file(torchvision_files() / "backbone.pt")); });
  CHECK(e.find("122 of the model's 122 tensors are not in the file") != std::string::npos);
  CHECK(e.find("strip_prefix: 'backbone.'") != std::string::npos);
  config::WeightsSpec stripped = file(torchvision_files() / "backbone.pt");
  stripped.strip_prefix = "backbone.";
  CHECK(start(net, stripped).loaded == 122);

  config::WeightsSpec none = file(torchvision_files() / "plain.pt");
  none.fresh = {"layer9.*"};
  e = testing::config_error([&] { start(net, none); });
  CHECK(e.find("new: 'layer9.*' matches none of the model's tensors") != std::string::npos);
}

TEST_CASE("every truncation of a real torch.save archive is refused, never read past its end") {
  if (!have_torchvision()) DLX_SKIP("no python3 with torchvision (Debian's python3-torchvision)");
  for (const char* name : {"io.pt"}) {
    const std::string bytes = read_file(torchvision_files() / name);
    REQUIRE(read_torch_file(bytes).root.entries().size() == 2);
    int refused = 0;
    for (size_t n = 0; n < bytes.size(); n += (n < 4096 ? 1 : 97)) {
      try {
        read_torch_file(bytes.substr(0, n));
      } catch (const TorchFileError&) {
        ++refused;
        continue;
      }
      FAIL("a file cut at " << n << " of " << bytes.size() << " bytes was read");
    }
    CHECK(refused > 0);
  }
}

TEST_CASE("a file that is not torch.save's, or a run folder without a checkpoint, is one line") {
  testing::TempDir dir;
  nn::Network net = nn::build_network(
      config::load_model(dir.write("m.yaml", "input: [1, 8, 8]\nlayers:\n  - dense: {units: 2}\n")),
      {1, 8, 8});
  const fs::path text = dir.write("notes.pt", "these are not weights\n");
  CHECK(testing::config_error([&] { start(net, file(text)); })
            .find("notes.pt: not a PyTorch file (neither torch.save's zip archive nor its older "
                  "pickle format)") != std::string::npos);
  fs::create_directories(dir.path() / "run");
  CHECK(testing::config_error([&] {
          start(net, file(dir.path() / "run"));
        }).find("a folder without checkpoint.pt") != std::string::npos);
  CHECK(testing::config_error([&] {
          start(net, file(dir.path() / "absent.pt"));
        }).find("absent.pt: no such file or folder") != std::string::npos);
}

namespace {

const char* kFineTune = R"(name: finetune
model:
  layers:
    - conv2d: {out_channels: 4, kernel_size: 3}
    - batchnorm2d
    - relu
    - dense: {units: 4}
data:
  dataset: synthetic
  batch_size: 16
  synthetic: {train_size: 64, test_size: 32, classes: 4, channels: 1, size: 8}
train:
  epochs: 2
  device: cpu
  threads: 1
  optimizer: {type: sgd, lr: 0.1, momentum: 0.9}
)";

config::ExperimentSpec fine_tune_spec(const testing::TempDir& dir,
                                      const std::vector<std::string>& sets) {
  std::vector<config::Override> overrides;
  for (const auto& s : sets) overrides.push_back(config::parse_override(s));
  return experiment::load(dir.write("finetune.yaml", kFineTune), overrides);
}

// The run's final weights.
std::map<std::string, torch::Tensor> trained(const std::vector<std::string>& sets) {
  testing::TempDir dir;
  std::ostringstream out;
  train::RunOptions options;
  options.runs_root = dir.path() / "runs";
  const train::RunOutcome outcome = train::run_experiment(fine_tune_spec(dir, sets), options, out);
  REQUIRE(outcome.status == report::RunStatus::kCompleted);
  return train::read_weights(outcome.folder / "checkpoint.pt");
}

}  // namespace

TEST_CASE("frozen parameters and their batch norm statistics stay; they train after thaw_epoch") {
  testing::TempDir dir;
  const nn::Network start = train::seeded_network(fine_tune_spec(dir, {}));
  std::map<std::string, torch::Tensor> initial;
  for (const auto& [key, t] : start.state()) initial[key] = t.clone();

  auto frozen = trained({"train.freeze=[conv0.*, batchnorm0.*]"});
  for (const char* key : {"conv0.weight", "conv0.bias", "batchnorm0.weight", "batchnorm0.bias",
                          "batchnorm0.running_mean", "batchnorm0.running_var"}) {
    CAPTURE(key);
    CHECK(at::equal(frozen.at(key), initial.at(key)));
  }
  CHECK(!at::equal(frozen.at("dense0.weight"), initial.at("dense0.weight")));

  auto thawed = trained({"train.freeze=[conv0.*, batchnorm0.*]", "train.thaw_epoch=2"});
  CHECK(!at::equal(thawed.at("conv0.weight"), initial.at("conv0.weight")));
  CHECK(!at::equal(thawed.at("batchnorm0.running_mean"), initial.at("batchnorm0.running_mean")));
}

TEST_CASE("parameter groups: lr multipliers follow the schedule, weight decay by group") {
  testing::TempDir dir;
  const config::ExperimentSpec spec = fine_tune_spec(
      dir, {"train.groups=[{params: [dense0.*], lr_mult: 10}]", "train.norm_weight_decay=0",
            "train.bias_weight_decay=0", "train.optimizer.weight_decay=0.001"});
  nn::Network net = train::seeded_network(spec);
  const auto groups = train::parameter_groups(spec, net);
  REQUIRE(groups.size() == 4);
  CHECK(groups[0].keys == std::vector<std::string>{"dense0.weight", "dense0.bias"});
  CHECK(groups[1].keys == std::vector<std::string>{"conv0.bias", "batchnorm0.bias"});
  CHECK(groups[2].keys == std::vector<std::string>{"batchnorm0.weight"});
  CHECK(groups[3].keys == std::vector<std::string>{"conv0.weight"});
  CHECK(groups[0].weight_decay == doctest::Approx(0.001));
  CHECK(groups[1].weight_decay == 0);
  CHECK(groups[2].weight_decay == 0);
  auto optimizer = train::make_optimizer(spec.train.optimizer, groups);
  train::set_lr(*optimizer, 0.05, groups);
  CHECK(optimizer->param_groups()[0].options().get_lr() == doctest::Approx(0.5));
  CHECK(optimizer->param_groups()[3].options().get_lr() == doctest::Approx(0.05));

  const config::ExperimentSpec typo = fine_tune_spec(dir, {"train.freeze=[conv1.*]"});
  nn::Network other = train::seeded_network(typo);
  CHECK(testing::config_error([&] {
          train::parameter_groups(typo, other);
        }).find("train.freeze: 'conv1.*' matches none of the model's parameters") !=
        std::string::npos);
}

namespace {

train::RunOptions runs_in(const testing::TempDir& dir) {
  train::RunOptions options;
  options.runs_root = dir.path() / "runs";
  return options;
}

train::RunOutcome completed_run(const config::ExperimentSpec& spec,
                                const train::RunOptions& options, std::ostream& out) {
  train::RunOutcome outcome = train::run_experiment(spec, options, out);
  REQUIRE(outcome.status == report::RunStatus::kCompleted);
  return outcome;
}

}  // namespace

TEST_CASE("epochs: 0 evaluates the starting weights: an experiment's newest completed run") {
  testing::TempDir dir;
  std::ostringstream out;
  const train::RunOptions options = runs_in(dir);
  const train::RunOutcome trained = completed_run(fine_tune_spec(dir, {}), options, out);
  const report::RunReport before = report::read_run_report(trained.folder);

  config::ExperimentSpec spec = fine_tune_spec(
      dir, {"train.epochs=0", "model.weights=" + (dir.path() / "runs/finetune").string()});
  spec.name = "evaluated";
  nn::Network net = train::seeded_network(spec);
  const train::StartedFrom from = start(net, spec.model.weights);
  CHECK(from.file == (trained.folder / "checkpoint.pt").string());
  REQUIRE(!from.notes.empty());
  CHECK(from.notes[0] == "the newest completed run of " + (dir.path() / "runs/finetune").string() +
                             ": " + trained.folder.filename().string());

  const auto evaluated = train::run_experiment(spec, options, out);
  REQUIRE(evaluated.status == report::RunStatus::kCompleted);
  const report::RunReport report = report::read_run_report(evaluated.folder);
  REQUIRE(report.epochs.size() == 1);
  const report::EpochRecord& e = report.epochs[0];
  CHECK(e.epoch == 0);
  CHECK_FALSE(e.train_loss);
  CHECK_FALSE(e.train_acc);
  // The same weights on the same test split as the trained run's last epoch.
  CHECK(e.test_acc == before.epochs.back().test_acc);
  CHECK(e.test_loss == doctest::Approx(before.epochs.back().test_loss).epsilon(1e-6));
  REQUIRE(report.final->last);
  CHECK(report.final->last->test_acc == e.test_acc);
  // Its checkpoint is the weights it started from, for predict and export.
  const auto kept = train::read_weights(evaluated.folder / "checkpoint.pt");
  for (const auto& [key, t] : train::read_weights(trained.folder / "checkpoint.pt")) {
    CAPTURE(key);
    CHECK(at::equal(kept.at(key), t));
  }
  CHECK(out.str().find("the starting weights (no training): test loss") != std::string::npos);
}

TEST_CASE("the start table: parameters loaded, new and frozen, and learning rates, by block") {
  testing::TempDir dir;
  std::ostringstream out;
  const train::RunOptions options = runs_in(dir);
  const train::RunOutcome trained = completed_run(fine_tune_spec(dir, {}), options, out);
  const config::ExperimentSpec spec = fine_tune_spec(
      dir, {"model.weights={file: " + trained.folder.string() + ", new: [dense0.*]}",
            "train.freeze=[conv0.*]", "train.groups=[{params: [dense0.*], lr_mult: 10}]"});
  nn::Network net = train::seeded_network(spec);
  const train::StartedFrom from = start(net, spec.model.weights);
  const auto groups = train::parameter_groups(spec, net);
  train::apply_freeze(spec.train, net, 1);
  const auto lines = train::start_table(&from, net, groups, 0.1);
  // conv0 (4x1x3x3 + 4), batchnorm0 (4 + 4), dense0 (4x4x6x6 + 4): each row's figures.
  REQUIRE(lines.size() == 4);
  auto figures = [](const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> words{std::istream_iterator<std::string>(in), {}};
    return words;
  };
  CHECK(figures(lines[1]) == std::vector<std::string>{"conv0", "40", "40", "0", "40", "0.1"});
  CHECK(figures(lines[2]) == std::vector<std::string>{"batchnorm0", "8", "8", "0", "0", "0.1"});
  CHECK(figures(lines[3]) == std::vector<std::string>{"dense0", "580", "0", "580", "0", "1"});
}

TEST_CASE("a fine-tuning run resumes exactly without its weights file") {
  testing::TempDir dir;
  std::ostringstream out;
  const train::RunOptions options = runs_in(dir);
  const train::RunOutcome source = completed_run(fine_tune_spec(dir, {}), options, out);
  const fs::path start_file = dir.path() / "start.pt";
  fs::copy_file(source.folder / "checkpoint.pt", start_file);
  const std::vector<std::string> sets{
      "model.weights={file: " + start_file.string() + ", new: [dense0.*]}",
      "train.freeze=[conv0.*]", "train.thaw_epoch=2",
      "train.groups=[{params: [dense0.*], lr_mult: 10}]", "train.epochs=3"};
  const auto whole = train::run_experiment(fine_tune_spec(dir, sets), options, out);
  REQUIRE(whole.status == report::RunStatus::kCompleted);

  train::RunOptions pausing = options;
  pausing.stop_after = 1;
  const auto paused = train::run_experiment(fine_tune_spec(dir, sets), pausing, out);
  REQUIRE(paused.status == report::RunStatus::kInterrupted);
  fs::remove(start_file);  // the run's own checkpoint holds what it started from
  const auto resumed = train::resume_run(paused.folder, {}, false, options, out);
  REQUIRE(resumed.status == report::RunStatus::kCompleted);
  const auto expected = train::read_weights(whole.folder / "checkpoint.pt");
  for (const auto& [key, t] : train::read_weights(resumed.folder / "checkpoint.pt")) {
    CAPTURE(key);
    CHECK(at::equal(t, expected.at(key)));
  }
}
