// `dlx validate FILE`: everything `dlx run` checks before training (config, shapes, data files,
// device), without training, and the file's `sweep:` section as `dlx sweep` would check it.
#include <fmt/format.h>

#include <iostream>

#include "framework/config/sweep_points.h"
#include "framework/data/dataset.h"
#include "framework/experiment/experiment.h"
#include "framework/nn/builder.h"
#include "framework/train/environment.h"
#include "framework/train/optim.h"
#include "framework/train/weights.h"
#include "tools/dlx/commands.h"

namespace dlx::tools {

std::string start_plan(const config::ExperimentSpec& spec, nn::Network& net) {
  std::string out;
  const bool weights = !spec.model.weights.file.empty();
  train::StartedFrom from;
  if (weights) {
    from = train::start_from_weights(net, spec.model.weights, spec.locate("model.weights"));
    out += fmt::format("weights: {} ({} tensors loaded, {} new)\n", from.file, from.loaded,
                       from.fresh.size());
    for (const auto& note : from.notes) out += "weights: " + note + "\n";
  }
  const auto groups = train::parameter_groups(spec, net);
  const int64_t frozen = train::apply_freeze(spec.train, net, 1);
  if (!weights && groups.size() == 1 && frozen == 0) return out;
  for (const auto& line :
       train::start_table(weights ? &from : nullptr, net, groups, spec.train.optimizer.lr))
    out += "  " + line + "\n";
  for (const auto& g : groups)
    out += fmt::format("group {}: {} parameters, lr {:g} x {:g}, weight decay {:g}\n", g.name,
                       g.keys.size(), spec.train.optimizer.lr, g.lr_mult, g.weight_decay);
  if (frozen > 0)
    out += fmt::format("frozen: {} parameters{}\n", frozen,
                       spec.train.thaw_epoch > 0
                           ? fmt::format(" until epoch {}", spec.train.thaw_epoch)
                           : std::string());
  return out;
}

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
      const std::string plan = start_plan(spec, net);
      c10::Device device = train::resolve_device(spec.train.device);
      data::Dataset data = data::load_dataset(spec.data, uint64_t(spec.train.seed));
      std::cout << fmt::format(
          "ok: {}: model {} ({} layers, {} parameters, output {}), data {} ({} train, {} test), "
          "device {}\n",
          spec.name, spec.model.name, net.layers.size(), net.parameters(),
          nn::format_shape(net.output()), data.name, data.train.size(), data.test.size(),
          device.str());
      std::cout << plan;
      return 0;
    };
  });
}

}  // namespace dlx::tools
