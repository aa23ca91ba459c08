// `dlx shapes FILE`: the d2l chapter's layer-by-layer table for a model or experiment file.
#include <iostream>

#include "framework/experiment/experiment.h"
#include "framework/nn/builder.h"
#include "tools/dlx/commands.h"

namespace dlx::tools {

namespace {

struct ShapesArgs {
  std::string file;
  std::vector<std::string> sets;
};

nn::Network build_from_file(const ShapesArgs& args) {
  auto overrides = parse_overrides(args.sets);
  // A model file lists layers; an experiment file names a model.
  if (config::parse_yaml_file(args.file)["layers"]) {
    config::ModelSpec model = config::load_model(args.file, overrides);
    if (model.input.empty()) {
      throw ConfigError({args.file}, "input",
                        "[channels, height, width] for a model file on its own", "nothing",
                        "or run dlx shapes on an experiment that uses it");
    }
    return nn::build_network(model, model.input);
  }
  return experiment::build_network(experiment::load(args.file, overrides));
}

}  // namespace

void add_shapes_command(CLI::App& app, Command& chosen) {
  auto args = std::make_shared<ShapesArgs>();
  CLI::App* cmd = app.add_subcommand(
      "shapes",
      "print each layer's output shape (as the d2l chapter does), parameters and multiply-adds");
  cmd->add_option("FILE", args->file, "model or experiment YAML")->required();
  add_set_option(*cmd, args->sets);
  cmd->callback([args, &chosen] {
    chosen = [args] {
      std::cout << nn::shapes_table(build_from_file(*args));
      return 0;
    };
  });
}

}  // namespace dlx::tools
