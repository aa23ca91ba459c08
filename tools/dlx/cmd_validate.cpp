// `dlx validate FILE`: everything `dlx run` checks before training (config, shapes, data files,
// device), without training, and the file's `sweep:` section as `dlx sweep` would check it.
#include <fmt/format.h>

#include <iostream>

#include "framework/config/sweep_points.h"
#include "framework/data/dataset.h"
#include "framework/experiment/experiment.h"
#include "framework/nn/builder.h"
#include "framework/train/environment.h"
#include "tools/dlx/commands.h"

namespace dlx::tools {

namespace {
struct ValidateArgs {
  std::string file;
  std::vector<std::string> sets;
};
}  // namespace

void add_validate_command(CLI::App& app, Command& chosen) {
  auto args = std::make_shared<ValidateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "validate", "check an experiment (config, shapes, data, device) without training");
  cmd->add_option("FILE", args->file, "experiment YAML")->required();
  add_set_option(*cmd, args->sets);
  cmd->callback([args, &chosen] {
    chosen = [args] {
      const std::vector<config::Override> overrides = parse_overrides(args->sets);
      config::ExperimentSpec spec = experiment::load(args->file, overrides);
      sweep::check_sweep(args->file, overrides);
      nn::Network net = experiment::build_network(spec);
      c10::Device device = train::resolve_device(spec.train.device);
      data::Dataset data = data::load_dataset(spec.data, uint64_t(spec.train.seed));
      std::cout << fmt::format(
          "ok: {}: model {} ({} layers, {} parameters, output {}), data {} ({} train, {} test), "
          "device {}\n",
          spec.name, spec.model.name, net.layers.size(), net.parameters(),
          nn::format_shape(net.output()), data.name, data.train.size(), data.test.size(),
          device.str());
      return 0;
    };
  });
}

}  // namespace dlx::tools
