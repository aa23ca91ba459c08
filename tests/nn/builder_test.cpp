#include <doctest/doctest.h>

#include "framework/experiment/experiment.h"
#include "framework/nn/builder.h"
#include "tests/helpers.h"

using namespace dlx;

namespace {
nn::Network shipped_model(const std::string& name) {
  config::ModelSpec spec = config::load_model(testing::source_dir() / "models" / name);
  return nn::build_network(spec, spec.input);
}
}  // namespace

TEST_CASE("AlexNet's shapes table opens with the chapter's printout, line for line") {
  std::string table = nn::shapes_table(shipped_model("alexnet.yaml"));
  const std::string chapter =
      "conv0 output shape:\t (1, 96, 54, 54)\n"
      "pool0 output shape:\t (1, 96, 26, 26)\n"
      "conv1 output shape:\t (1, 256, 26, 26)\n"
      "pool1 output shape:\t (1, 256, 12, 12)\n"
      "conv2 output shape:\t (1, 384, 12, 12)\n"
      "conv3 output shape:\t (1, 384, 12, 12)\n"
      "conv4 output shape:\t (1, 256, 12, 12)\n"
      "pool2 output shape:\t (1, 256, 5, 5)\n"
      "dense0 output shape:\t (1, 4096)\n"
      "dropout0 output shape:\t (1, 4096)\n"
      "dense1 output shape:\t (1, 4096)\n"
      "dropout1 output shape:\t (1, 4096)\n"
      "dense2 output shape:\t (1, 10)\n";
  CHECK(table.substr(0, chapter.size()) == chapter);
  CHECK(table.find("46,764,746") != std::string::npos);
}

TEST_CASE("the chapter's AlexNet has 46,764,746 parameters and LeNet 61,706") {
  nn::Network alexnet = shipped_model("alexnet.yaml");
  CHECK(alexnet.parameters() == 46764746);
  CHECK(alexnet.layers.size() == 13);
  nn::Network lenet = shipped_model("lenet.yaml");
  CHECK(lenet.parameters() == 61706);
  CHECK(lenet.output() == nn::Shape{10});
}

TEST_CASE("torchvision's AlexNet and the 2012 paper's grouped AlexNet with LRN are expressible") {
  CHECK(shipped_model("alexnet-torchvision.yaml").parameters() == 61100840);
  nn::Network paper = shipped_model("alexnet-2012.yaml");
  // Groups halve the weights of conv1, conv3 and conv4 relative to the ungrouped network.
  CHECK(paper.parameters() == 60965224);
  CHECK(paper.layers[1].type == "local_response_norm");
  CHECK(paper.layers[1].name == "lrn0");
}

TEST_CASE("multiply-adds are counted per conv and dense layer") {
  nn::Network lenet = shipped_model("lenet.yaml");
  // conv0: 6*28*28*1*25, conv1: 16*10*10*6*25, dense: 400*120 + 120*84 + 84*10
  CHECK(lenet.layers[0].macs == 117600);
  CHECK(lenet.layers[2].macs == 240000);
  CHECK(lenet.macs() == 117600 + 240000 + 48000 + 10080 + 840);
}

TEST_CASE("an experiment's network must end in one output per class") {
  testing::TempDir dir;
  auto file = dir.write("exp.yaml", "model:\n  layers:\n    - dense: {units: 20}\n");
  std::string message =
      testing::config_error([&] { experiment::build_network(experiment::load(file)); });
  CHECK(message.substr(message.find("error:")) ==
        "error: model.layers[0]: expected the last layer to output (1, 10) for the 10 classes of "
        "fashion-mnist, found (1, 20) from dense0");
}

TEST_CASE("a builder model follows the data's classes and image size, with a note for each") {
  testing::TempDir dir;
  const auto file = dir.write(
      "exp.yaml", "model: " + (testing::source_dir() / "models/torchvision/alexnet.yaml").string() +
                      R"(
data: {dataset: synthetic, synthetic: {classes: 7, channels: 3, size: 64}}
)");
  std::vector<std::string> notes;
  const config::ExperimentSpec spec = experiment::load(file, {}, &notes);
  REQUIRE(notes.size() == 2);
  CHECK(notes[0] ==
        "model.args.num_classes: 1000 -> 7, the classes of synthetic (the head's "
        "outputs follow them)");
  CHECK(notes[1] == "model.input: [3,224,224] -> [3,64,64], the data's images");
  nn::Network net = experiment::build_network(spec);
  CHECK(net.output() == nn::Shape{7});
  CHECK(net.input == nn::Shape{3, 64, 64});
  // Other channels are still an error: the first convolution was made for 3.
  const auto gray =
      dir.write("gray.yaml",
                "model: " + (testing::source_dir() / "models/torchvision/alexnet.yaml").string() +
                    "\ndata: {dataset: synthetic}\n");
  CHECK(testing::config_error([&] { experiment::load(gray); }).find("model.input") !=
        std::string::npos);
}
