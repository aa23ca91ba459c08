// Every validation error, word for word: these are the lines a user reads.
#include <doctest/doctest.h>

#include "framework/config/experiment.h"
#include "framework/experiment/experiment.h"
#include "framework/nn/builder.h"
#include "tests/helpers.h"

using namespace dlx;
using namespace dlx::config;

namespace {

// Loads `text` as exp.yaml (next to a small model m.yaml) and builds its network.
std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
  testing::TempDir dir;
  dir.write("m.yaml",
            "layers:\n  - conv2d: {out_channels: 4, kernel_size: 3}\n  - dense: {units: 10}\n");
  auto file = dir.write("exp.yaml", text);
  std::string message = testing::config_error([&] {
    std::vector<Override> overrides;
    for (const auto& s : sets) overrides.push_back(parse_override(s));
    experiment::build_network(experiment::load(file, overrides));
  });
  // Make the temporary folder's name stable for comparison.
  size_t at = message.find(dir.path().string());
  if (at != std::string::npos) message.replace(at, dir.path().string().size(), "DIR");
  return message;
}

}  // namespace

TEST_CASE("an unknown key names the known ones and the closest") {
  CHECK(error_of("model: m.yaml\ntrain:\n  optimiser: {lr: 0.1}\n") ==
        "DIR/exp.yaml:3:3: error: train.optimiser: expected one of the keys accumulate, "
        "bias_weight_decay, channels_last, clip_grad_norm, clip_grad_value, cudnn_benchmark, "
        "device, early_stopping, ema, epochs, freeze, groups, init, loss, metrics, mix, "
        "norm_weight_decay, optimizer, precision, scheduler, seed, select, thaw_epoch, threads, "
        "found unknown key 'optimiser'; did you mean 'optimizer'?");
}

TEST_CASE("a duplicate key is an error, not a silent choice") {
  CHECK(error_of("model: m.yaml\ntrain: {epochs: 2}\ntrain: {epochs: 3}\n") ==
        "DIR/exp.yaml:3:1: error: train: duplicate key (first given at line 2)");
}

TEST_CASE("a wrong type says what was expected and found") {
  CHECK(error_of("model: m.yaml\ntrain:\n  epochs: ten\n") ==
        "DIR/exp.yaml:3:11: error: train.epochs: expected an integer, found 'ten'");
  CHECK(error_of("model: m.yaml\ndata: [1, 2]\n") ==
        "DIR/exp.yaml:2:7: error: data: expected a mapping of keys, found a list");
}

TEST_CASE("an out-of-range value names the range") {
  CHECK(error_of("model: m.yaml\ntrain:\n  optimizer: {lr: -1}\n") ==
        "DIR/exp.yaml:3:19: error: train.optimizer.lr: expected a number > 0, found '-1'");
  CHECK(error_of("model: m.yaml\ndata: {batch_size: 0}\n") ==
        "DIR/exp.yaml:2:20: error: data.batch_size: expected an integer >= 1, found '0'");
}

TEST_CASE("unknown optimizer, dataset, init and activation names suggest the closest") {
  CHECK(error_of("model: m.yaml\ntrain: {optimizer: {type: sgdd}}\n") ==
        "DIR/exp.yaml:2:27: error: train.optimizer.type: expected one of sgd, adam, adamw, found "
        "'sgdd'; did you mean 'sgd'?");
  CHECK(error_of("model: m.yaml\ndata: {dataset: fashion_mnist}\n") ==
        "DIR/exp.yaml:2:17: error: data.dataset: expected one of fashion-mnist, mnist, cifar10, "
        "folder, "
        "synthetic, "
        "found 'fashion_mnist'; did you mean 'fashion-mnist'?");
  CHECK(error_of("model: m.yaml\ntrain: {init: xavier}\n") ==
        "DIR/exp.yaml:2:15: error: train.init: expected one of default, xavier_uniform, "
        "xavier_normal, kaiming_uniform, kaiming_normal, found 'xavier'; did you mean "
        "'xavier_uniform'?");
  CHECK(error_of("model:\n  layers:\n    - dense: {units: 10, activation: rellu}\n") ==
        "DIR/exp.yaml:3:38: error: model.layers[0].dense.activation: expected one of none, relu, "
        "sigmoid, tanh, gelu, leaky_relu, silu, hardswish, hardsigmoid, relu6, found 'rellu'; did "
        "you mean 'relu'?");
}

TEST_CASE("an unknown layer type suggests the closest registered one") {
  CHECK(error_of("model:\n  layers:\n    - conv2: {out_channels: 4}\n") ==
        "DIR/exp.yaml:3:7: error: model.layers[0]: expected a layer type or block (see `dlx "
        "layers`), found "
        "'conv2'; did you mean 'conv2d'?");
  // A name spelt out in full is recognised too.
  CHECK(error_of("model:\n  layers:\n    - convolution2d: {out_channels: 4}\n") ==
        "DIR/exp.yaml:3:7: error: model.layers[0]: expected a layer type or block (see `dlx "
        "layers`), found "
        "'convolution2d'; did you mean 'conv2d'?");
}

TEST_CASE("an unknown optimizer, scheduler, init or activation is an error, never a fallback") {
  CHECK(error_of("model: m.yaml\ntrain: {optimizer: {type: adamm}}\n") ==
        "DIR/exp.yaml:2:27: error: train.optimizer.type: expected one of sgd, adam, adamw, found "
        "'adamm'; did you mean 'adam'?");
  CHECK(error_of("model: m.yaml\ntrain: {scheduler: {type: [cosine]}}\n") ==
        "DIR/exp.yaml:2:27: error: train.scheduler.type: expected one of none, step, multistep, "
        "cosine, found a list");
  CHECK(error_of("model: m.yaml\ntrain: {init: xavier}\n") ==
        "DIR/exp.yaml:2:15: error: train.init: expected one of default, xavier_uniform, "
        "xavier_normal, kaiming_uniform, kaiming_normal, found 'xavier'; did you mean "
        "'xavier_uniform'?");
  CHECK(error_of("model:\n  layers:\n    - dense: {units: 10, activation: rleu}\n") ==
        "DIR/exp.yaml:3:38: error: model.layers[0].dense.activation: expected one of none, relu, "
        "sigmoid, tanh, gelu, leaky_relu, silu, hardswish, hardsigmoid, relu6, found 'rleu'; did "
        "you mean 'relu'?");
}

TEST_CASE("errors inside a model file name the model file") {
  testing::TempDir dir;
  dir.write("m.yaml", "layers:\n  - dense: {units: 10, bias: maybe}\n");
  auto file = dir.write("exp.yaml", "model: m.yaml\n");
  std::string message =
      testing::config_error([&] { experiment::build_network(experiment::load(file)); });
  CHECK(message ==
        (dir.path() / "m.yaml").string() +
            ":2:30: error: model.layers[0].dense.bias: expected true or false, found 'maybe'");
}

TEST_CASE("a missing required key says it is required") {
  CHECK(error_of("model:\n  layers:\n    - dense: {bias: false}\n") ==
        "DIR/exp.yaml:3:14: error: model.layers[0].dense.units: expected an integer, found nothing "
        "(the key is required)");
  CHECK(error_of("name: x\n") ==
        "DIR/exp.yaml:1:1: error: model: expected a model file path or "
        "mapping, found nothing (the key is required)");
}

TEST_CASE("a --set mistake names the --set") {
  CHECK(error_of("model: m.yaml\n", {"train.epochs=abc"}) ==
        "--set train.epochs=abc: error: train.epochs: expected an integer, found 'abc'");
  CHECK(error_of("model: m.yaml\n", {"train.epoch=3"}) ==
        "--set train.epoch=3: error: train.epoch: expected one of the keys accumulate, "
        "bias_weight_decay, channels_last, clip_grad_norm, clip_grad_value, cudnn_benchmark, "
        "device, early_stopping, ema, epochs, freeze, groups, init, loss, metrics, mix, "
        "norm_weight_decay, optimizer, precision, scheduler, seed, select, thaw_epoch, threads, "
        "found unknown key 'epoch'; did you mean 'epochs'?");
  CHECK(error_of("model: m.yaml\n", {"train.epochs"}) ==
        "--set train.epochs: error: expected key=value, found 'train.epochs'");
  CHECK(
      error_of("model: m.yaml\n", {"train..epochs=1"}) ==
      "--set train..epochs=1: error: train..epochs: expected a dotted key like train.optimizer.lr, "
      "found 'train..epochs'");
}

TEST_CASE("broken YAML gives the parser's position") {
  CHECK(error_of("model: m.yaml\ntrain: {epochs: [1, 2}\n") ==
        "DIR/exp.yaml:2:22: error: invalid YAML: illegal flow end");
}

namespace {
// Nine levels of ten aliases: a 555-byte file that is a tree of 10^9 nodes to any walk of it.
std::string billion_laughs() {
  std::string text = "model: m.yaml\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int level = 1; level < 9; ++level) {
    const std::string name = "l" + std::to_string(level), below = "*l" + std::to_string(level - 1);
    text += name + ": &" + name + " [" + below;
    for (int i = 1; i < 10; ++i) text += ", " + below;
    text += "]\n";
  }
  return text + "name: *l8\n";
}
}  // namespace

TEST_CASE("aliases that expand a small file to 10^9 nodes are refused, not walked") {
  CHECK(error_of(billion_laughs()) ==
        "DIR/exp.yaml:2:35: error: l3: aliases (*name) expand the YAML to more than 8880 nodes "
        "(the bound: 16 per byte of the file, at least 4096)");
  // An alias inside its own anchor is a tree without end.
  CHECK(error_of("model: m.yaml\nname: &a [*a]\n") ==
        "DIR/exp.yaml:2:7: error: name: the YAML nests too deep: at most 100 levels");
}

TEST_CASE("nesting too deep says so, with the bound") {
  const std::string deep = "model: m.yaml\nname: " + std::string(101, '[') + std::string(101, ']');
  CHECK(error_of(deep) ==
        "DIR/exp.yaml:2:107: error: name: the YAML nests too deep: at most 100 levels");
  // Past yaml-cpp's own bound (500 levels), its parser stops: the same words, not "bad file".
  const std::string deeper =
      "model: m.yaml\nname: " + std::string(600, '[') + std::string(600, ']');
  CHECK(error_of(deeper).rfind("DIR/exp.yaml:2:", 0) == 0);
  CHECK(error_of(deeper).find(": error: the YAML nests too deep: at most 100 levels") !=
        std::string::npos);
}

TEST_CASE("bytes that are not UTF-8 in a value or a key are refused, naming the key") {
  CHECK(error_of("model: m.yaml\nname: caf\xe9\n") ==
        "DIR/exp.yaml:2:7: error: name: expected UTF-8 text, found the byte 0xe9 (at byte 4 of "
        "the value)");
  CHECK(error_of("model: m.yaml\ntrain:\n  caf\xc3: 1\n") ==
        "DIR/exp.yaml:3:3: error: train: expected UTF-8 text, found the byte 0xc3 (at byte 4 of "
        "the value)");
  // Overlong forms and UTF-16 surrogates are not UTF-8 either; real characters are.
  CHECK(error_of("model: m.yaml\nname: \xc0\xaf\n").find("found the byte 0xc0") !=
        std::string::npos);
  CHECK(error_of("model: m.yaml\nname: \xed\xa0\x80\n").find("found the byte 0xed") !=
        std::string::npos);
  CHECK(error_of("model: m.yaml\nname: caf\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x99\x82\n") == "");
}

TEST_CASE("a missing model file is named") {
  CHECK(error_of("model: nothere.yaml\n") ==
        "DIR/nothere.yaml: error: cannot read file (missing or unreadable)");
}

TEST_CASE("cross-field checks name the key") {
  CHECK(error_of("model: m.yaml\ntrain: {optimizer: {nesterov: true}}\n") ==
        "DIR/exp.yaml:2:31: error: train.optimizer.nesterov: needs type sgd with momentum > 0 "
        "(found type sgd, momentum 0)");
  CHECK(error_of("model: m.yaml\ntrain: {device: gpu}\n") ==
        "DIR/exp.yaml:2:17: error: train.device: expected auto, cpu, cuda or cuda:N, found 'gpu'");
  CHECK(
      error_of("model: m.yaml\ntrain: {epochs: 2, scheduler: {type: multistep}}\n") ==
      "DIR/exp.yaml:2:31: error: train.scheduler.milestones: expected a non-empty increasing list "
      "of epochs >= 1 for type multistep, found []");
}

TEST_CASE("a model whose input disagrees with the data is caught") {
  CHECK(error_of("model:\n  input: [1, 32, 32]\n  layers: [dense: {units: 10}]\n") ==
        "DIR/exp.yaml:2:10: error: model.input: expected [1,28,28] as the data gives it (dataset "
        "fashion-mnist, resize 0), found [1,32,32]; set data.resize or change the model's input");
}
