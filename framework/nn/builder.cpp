#include "framework/nn/builder.h"

#include <fmt/format.h>

#include <map>

#include "framework/data/dataset.h"

namespace dlx::nn {

int64_t Network::parameters() const {
  int64_t total = 0;
  for (const auto& l : layers) total += l.parameters;
  return total;
}

int64_t Network::macs() const {
  int64_t total = 0;
  for (const auto& l : layers) total += l.macs;
  return total;
}

namespace {

bool valid_name(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  }
  return true;
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t total = 0;
  for (const auto& p : module.parameters()) total += p.numel();
  return total;
}

}  // namespace

Network build_network(const config::ModelSpec& spec, const Shape& input,
                      const LayerRegistry& registry) {
  Network net{torch::nn::Sequential(), input, {}};
  std::map<std::string, int> counters;
  std::map<std::string, std::string> taken;  // name -> path of the layer that took it
  Shape shape = input;
  for (const auto& layer : spec.layers) {
    const LayerType* type = registry.find(layer.type);
    if (!type) {
      throw ConfigError(layer.where, layer.path, "a layer type (see `dlx layers`)",
                        "'" + layer.type + "'", did_you_mean(layer.type, registry.names()));
    }
    const std::string args_path = config::child_path(layer.path, layer.type);
    config::Reader args(layer.args, args_path, layer.origins);
    std::string name = type->prefix + std::to_string(counters[type->prefix]++);
    args.field("name", name, "the layer's name: its key in the checkpoint");
    if (!valid_name(name) || taken.count(name)) {
      throw ConfigError(
          args.locate("name"), args_path + ".name", "a unique name of letters, digits, '_' or '-'",
          taken.count(name) ? "'" + name + "', already used by " + taken[name] : "'" + name + "'");
    }
    taken[name] = layer.path;
    BuiltLayer built = type->build(args, BuildInput{shape, name, layer.path, layer.where});
    net.body->push_back(name, built.module);
    net.layers.push_back({name, layer.type, built.output,
                          count_parameters(*net.body->children().back()), built.macs});
    shape = built.output;
  }
  return net;
}

Network build_network(const config::ExperimentSpec& spec) {
  // The data decides the input and the classes; a folder dataset's images are looked at for them.
  const data::Geometry data = data::geometry(spec.data);
  if (!spec.model.input.empty() && spec.model.input != data.input) {
    throw ConfigError::plain({}, "model.input",
                             config::Json(spec.model.input).dump() + " differs from " +
                                 config::Json(data.input).dump() + " as the images in " +
                                 spec.data.root +
                                 " give it (set data.resize or data.channels, or change the "
                                 "model's input)");
  }
  Network net = build_network(spec.model, data.input);
  const int64_t classes = data.classes;
  if (net.output() != Shape{classes}) {
    const auto& last = spec.model.layers.back();
    throw ConfigError(last.where, last.path,
                      "the last layer to output " + format_shape({classes}) + " for the " +
                          std::to_string(classes) + " classes of " +
                          config::choice_name(spec.data.dataset),
                      format_shape(net.output()) + " from " + net.layers.back().name);
  }
  return net;
}

namespace {

std::string grouped(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string human_bytes(int64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024.0));
}

}  // namespace

std::string shapes_table(const Network& net) {
  std::string out;
  for (const auto& l : net.layers)
    out += l.name + " output shape:\t " + format_shape(l.output) + "\n";
  out += "\n";
  const char* row = "{:<12} {:<20} {:<20} {:>14} {:>16} {:>12}\n";
  out += fmt::format(row, "layer", "type", "output shape", "parameters", "multiply-adds",
                     "activations");
  int64_t activation_bytes = 0;
  for (const auto& l : net.layers) {
    int64_t bytes = numel(l.output) * 4;  // float32, batch 1
    activation_bytes += bytes;
    out += fmt::format(row, l.name, l.type, format_shape(l.output), grouped(l.parameters),
                       grouped(l.macs), human_bytes(bytes));
  }
  out += fmt::format(row, "total", "", "input " + format_shape(net.input),
                     grouped(net.parameters()), grouped(net.macs()), human_bytes(activation_bytes));
  out += fmt::format("parameter memory: {} (float32); activations are per example, forward only\n",
                     human_bytes(net.parameters() * 4));
  return out;
}

}  // namespace dlx::nn
