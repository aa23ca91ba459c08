// `dlx shapes FILE`: the d2l chapter's layer-by-layer table for a model or experiment file.
#include <iostream>
#include <optional>

#include "framework/experiment/experiment.h"
#include "framework/nn/builder.h"
#include "tools/dlx/commands.h"

namespace dlx::tools {

namespace {

struct ShapesArgs {
  std::string file;
  std::vector<std::string> sets;
  bool keys = false;
};

// The checkpoint's keys with their shapes, as PyTorch prints a state_dict's: what a weights file
// for this model must hold.
std::string keys_table(const nn::Network& net) {
  std::string out;
  for (const auto& [key, value] : net.state()) {
    std::string shape;
    for (int64_t d : value.sizes()) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
    out += key + "\t[" + shape + "]\n";
  }
  return out;
}

// The network of a model file, or of an experiment (with `spec` set).
nn::Network build_from_file(const ShapesArgs& args, std::optional<config::ExperimentSpec>& spec) {
  auto overrides = parse_overrides(args.sets);
  if (config::is_model_file(args.file)) {
    config::ModelSpec model = config::load_model(args.file, overrides);
    if (model.input.empty()) {
      throw ConfigError({args.file}, "input",
                        "[channels, height, width] for a model file on its own", "nothing",
                        "or run dlx shapes on an experiment that uses it");
    }
    return nn::build_network(model, model.input);
  }
  std::vector<std::string> notes;
  spec = experiment::load(args.file, overrides, &notes);
  for (const auto& n : notes) std::cerr << "dlx: note: " << n << "\n";
  return experiment::build_network(*spec);
}

}  // namespace

void add_shapes_command(CLI::App& app, Command& chosen) {
  auto args = std::make_shared<ShapesArgs>();
  CLI::App* cmd = app.add_subcommand(
      "shapes",
      "print each layer's output shape (as the d2l chapter does), parameters and multiply-adds");
  cmd->add_option("FILE", args->file, "model or experiment YAML")->required();
  add_set_option(*cmd, args->sets);
  cmd->add_flag("--keys", args->keys,
                "print the checkpoint's keys and shapes (its state_dict) instead of the table");
  cmd->callback([args, &chosen] {
    chosen = [args] {
      std::optional<config::ExperimentSpec> spec;
      nn::Network net = build_from_file(*args, spec);
      std::cout << (args->keys ? keys_table(net) : nn::shapes_table(net));
      if (spec && !args->keys) std::cout << start_plan(*spec, net);
      return 0;
    };
  });
}

}  // namespace dlx::tools
