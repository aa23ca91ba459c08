#include "framework/nn/builder.h"

#include <fmt/format.h>

#include <map>

#include "framework/data/dataset.h"
#include "framework/nn/groups.h"
#include "framework/nn/precision.h"

namespace dlx::nn {

int64_t Network::parameters() const {
  int64_t total = 0;
  for (const auto& l : layers) total += l.group ? 0 : l.parameters;
  return total;
}

int64_t Network::macs() const {
  int64_t total = 0;
  for (const auto& l : layers) total += l.group ? 0 : l.macs;
  return total;
}

at::Tensor Network::forward(const at::Tensor& images) {
  at::Tensor out;
  {
    Autocast autocast(precision, images.device());
    out = body->forward(images);
  }
  return out.to(at::kFloat);  // the loss and the metrics in float32, as torch.autocast advises
}

const Shape& Network::output() const {
  for (auto l = layers.rbegin(); l != layers.rend(); ++l)
    if (l->depth == 0) return l->output;
  return input;
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

// The names taken in one container (the model, a group or a branch): each has its own counters,
// as each PyTorch container numbers its own children.
struct Scope {
  std::map<std::string, int> counters;
  std::map<std::string, std::string> taken;  // name -> path of the entry that took it
};

class Builder {
 public:
  Builder(const config::ModelSpec& spec, const LayerRegistry& registry, Network& net)
      : spec_(spec),
        registry_(registry),
        net_(net),
        origins_(spec.origins || spec.layers.empty() ? spec.origins : spec.layers[0].origins) {}

  // Builds `layers` into `into`, from `shape`; returns the output shape.
  Shape build_list(const std::vector<config::LayerSpec>& layers, Shape shape,
                   torch::nn::SequentialImpl& into, Scope& scope, const std::string& prefix,
                   int depth) {
    for (const auto& layer : layers) shape = build_entry(layer, shape, into, scope, prefix, depth);
    return shape;
  }

 private:
  Shape build_entry(const config::LayerSpec& layer, const Shape& shape,
                    torch::nn::SequentialImpl& into, Scope& scope, const std::string& prefix,
                    int depth) {
    const std::string args_path = config::child_path(layer.path, layer.type);
    config::Reader args(layer.args, args_path, layer.origins);
    if (layer.type == "repeat")
      return build_repeat(args, args_path, shape, into, scope, prefix, depth);
    if (layer.type == "sequential" || layer.type == "parallel" || is_block(layer.type))
      return build_group(layer, args, args_path, shape, into, scope, prefix, depth);
    const LayerType* type = registry_.find(layer.type);
    if (!type) {
      std::vector<std::string> names = registry_.names();
      for (const char* g : {"sequential", "parallel", "repeat"}) names.push_back(g);
      for (const auto& b : block_names()) names.push_back(b);
      throw ConfigError(layer.where, layer.path, "a layer type or block (see `dlx layers`)",
                        "'" + layer.type + "'", did_you_mean(layer.type, names));
    }
    const std::string name = take_name(args, args_path, type->prefix, scope, layer.path);
    BuiltLayer built = type->build(args, BuildInput{shape, name, layer.path, layer.where});
    into.push_back(name, built.module);
    net_.layers.push_back({prefix + name, layer.type, built.output,
                           count_parameters(*into.children().back()), built.macs, depth, false});
    return built.output;
  }

  std::string take_name(config::Reader& args, const std::string& args_path, const std::string& stem,
                        Scope& scope, const std::string& path) {
    std::string name = stem + std::to_string(scope.counters[stem]++);
    args.field("name", name, "the layer's name: its key in the checkpoint");
    if (!valid_name(name) || scope.taken.count(name)) {
      throw ConfigError(
          args.locate("name"), args_path + ".name", "a unique name of letters, digits, '_' or '-'",
          scope.taken.count(name) ? "'" + name + "', already used by " + scope.taken[name]
                                  : "'" + name + "'");
    }
    scope.taken[name] = path;
    return name;
  }

  std::vector<config::LayerSpec> read_list(const YAML::Node& node, const std::string& path,
                                           const Location& where, bool may_be_empty) {
    if (!node || !node.IsSequence() || (!may_be_empty && node.size() == 0))
      throw ConfigError(node ? origins()->locate(path, node) : where, path,
                        may_be_empty ? "a list of layers" : "a non-empty list of layers",
                        config::describe(node));
    std::vector<config::LayerSpec> out;
    for (size_t i = 0; i < node.size(); ++i)
      out.push_back(config::read_layer(node[i], config::item_path(path, i), origins()));
    return out;
  }

  Shape build_repeat(config::Reader& args, const std::string& path, Shape shape,
                     torch::nn::SequentialImpl& into, Scope& scope, const std::string& prefix,
                     int depth) {
    int64_t times = 1;
    args.required("times", times, "how many times the layers come", config::at_least(1));
    const auto layers = read_list(args.raw("layers", "the layers to repeat"),
                                  config::child_path(path, "layers"), args.locate_self(), false);
    args.finish();
    for (int64_t t = 0; t < times; ++t)
      shape = build_list(layers, shape, into, scope, prefix, depth);
    return shape;
  }

  Shape build_group(const config::LayerSpec& layer, config::Reader& args,
                    const std::string& args_path, const Shape& shape,
                    torch::nn::SequentialImpl& into, Scope& scope, const std::string& prefix,
                    int depth) {
    const std::string stem = layer.type;
    const std::string name = take_name(args, args_path, stem, scope, layer.path);
    const size_t row = net_.layers.size();
    net_.layers.push_back({prefix + name, layer.type, {}, 0, 0, depth, true});
    Shape out;
    torch::nn::AnyModule module;
    if (layer.type == "parallel") {
      module = build_parallel(args, args_path, layer, shape, prefix + name + ".", depth + 1, out);
    } else {
      std::vector<config::LayerSpec> layers;
      if (layer.type == "sequential") {
        layers = read_list(args.raw("layers", "the group's layers"),
                           config::child_path(args_path, "layers"), layer.where, false);
        args.finish();
      } else {
        layers = expand_block(layer, args);
        active_.push_back(layer.type);
      }
      Group group;
      Scope inner;
      out = build_list(layers, shape, *group, inner, prefix + name + ".", depth + 1);
      if (layer.type != "sequential") active_.pop_back();
      module = torch::nn::AnyModule(group);
    }
    into.push_back(name, module);
    finish_group_row(row, out);
    return out;
  }

  torch::nn::AnyModule build_parallel(config::Reader& args, const std::string& path,
                                      const config::LayerSpec& layer, const Shape& shape,
                                      const std::string& prefix, int depth, Shape& out) {
    std::string merge = "add";
    args.field("merge", merge, "how branch outputs join", config::one_of({"add", "concat"}));
    const YAML::Node list = args.raw("branches", "lists of layers, [] for the identity");
    const std::string branches_path = config::child_path(path, "branches");
    if (!list || !list.IsSequence() || list.size() == 0)
      throw ConfigError(list ? origins()->locate(branches_path, list) : layer.where, branches_path,
                        "a non-empty list of branches (each a list of layers)",
                        config::describe(list));
    args.finish();
    std::vector<Group> branches;
    std::vector<Shape> outs;
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string bpath = config::item_path(branches_path, i);
      const auto layers = read_list(list[i], bpath, layer.where, true);
      Group branch;
      Scope inner;
      outs.push_back(build_list(layers, shape, *branch, inner,
                                prefix + "branch" + std::to_string(i) + ".", depth));
      branches.push_back(branch);
    }
    out = merged_shape(outs, merge == "concat", layer, path);
    return torch::nn::AnyModule(Parallel(std::move(branches), merge == "concat"));
  }

  static Shape merged_shape(const std::vector<Shape>& outs, bool concat,
                            const config::LayerSpec& layer, const std::string& path) {
    Shape out = outs[0];
    for (size_t i = 1; i < outs.size(); ++i) {
      const Shape& s = outs[i];
      const bool fits = concat ? s.size() == out.size() && s.size() >= 1 &&
                                     std::equal(s.begin() + 1, s.end(), out.begin() + 1)
                               : s == out;
      if (!fits)
        throw ConfigError::plain(layer.where, path,
                                 std::string("merge ") +
                                     (concat ? "concat needs equal sizes after the channels"
                                             : "add needs equal shapes") +
                                     ", but branch 0 gives " + format_shape(outs[0]) +
                                     " and branch " + std::to_string(i) + " gives " +
                                     format_shape(s));
      if (concat) out[0] += s[0];
    }
    return out;
  }

  void finish_group_row(size_t row, const Shape& out) {
    LayerSummary& g = net_.layers[row];
    g.output = out;
    for (size_t i = row + 1; i < net_.layers.size(); ++i) {
      if (net_.layers[i].group) continue;
      g.parameters += net_.layers[i].parameters;
      g.macs += net_.layers[i].macs;
    }
  }

  // ---- blocks ----

  bool is_block(const std::string& type) const {
    return spec_.blocks && spec_.blocks.IsMap() && spec_.blocks[type];
  }

  std::vector<std::string> block_names() const {
    std::vector<std::string> names;
    if (spec_.blocks && spec_.blocks.IsMap())
      for (const auto& b : spec_.blocks) names.push_back(b.first.Scalar());
    return names;
  }

  const std::shared_ptr<const config::Origins>& origins() const { return origins_; }

  // The block's layers with its arguments put in for each $name.
  std::vector<config::LayerSpec> expand_block(const config::LayerSpec& use, config::Reader& args) {
    const std::string& type = use.type;
    const std::string def_path = config::child_path(config::child_path(spec_.path, "blocks"), type);
    const YAML::Node def = spec_.blocks[type];
    if (std::find(active_.begin(), active_.end(), type) != active_.end()) {
      std::string cycle;
      for (const auto& b : active_) cycle += b + " -> ";
      throw ConfigError::plain(use.where, use.path,
                               "block '" + type + "' uses itself (" + cycle + type + ")");
    }
    config::Reader body(def, def_path, origins());
    const YAML::Node declared = body.raw("args", "the block's arguments and their defaults");
    const auto layers_node = body.raw("layers", "the block's layers");
    body.finish();
    std::map<std::string, YAML::Node> values;
    std::vector<std::string> known{"name"};
    if (declared && declared.IsMap()) {
      for (const auto& a : declared) {
        const std::string key = a.first.Scalar();
        known.push_back(key);
        YAML::Node given = use.args && use.args.IsMap() ? use.args[key] : YAML::Node();
        if (given && !given.IsNull()) {
          values[key] = given;
        } else if (a.second.IsScalar() && a.second.Scalar() == "required") {
          throw ConfigError(use.where, config::child_path(config::child_path(use.path, type), key),
                            "a value (block '" + type + "' requires it)", "nothing");
        } else {
          values[key] = a.second;
        }
      }
    }
    args.reject_unknown(known);
    YAML::Node substituted =
        substitute(layers_node, values, config::child_path(def_path, "layers"));
    return read_list(substituted, config::child_path(def_path, "layers"), use.where, false);
  }

  // A copy of `node` with each "$name" scalar replaced by that argument's value; subtrees without
  // one stay the very nodes of the file, so that messages still give their lines.
  YAML::Node substitute(const YAML::Node& node, const std::map<std::string, YAML::Node>& values,
                        const std::string& path) {
    if (!node) return node;
    if (node.IsScalar()) {
      const std::string& text = node.Scalar();
      if (text.size() < 2 || text[0] != '$') return node;
      auto it = values.find(text.substr(1));
      if (it == values.end()) {
        std::vector<std::string> names;
        for (const auto& [k, v] : values) names.push_back("$" + k);
        throw ConfigError(origins()->locate(path, node), path,
                          names.empty() ? "no $name (the block declares no args)"
                                        : "one of the block's args " + join(names),
                          "'" + text + "'", did_you_mean(text, names));
      }
      return it->second;
    }
    if (!has_dollar(node)) return node;
    YAML::Node copy(node.Type());
    if (node.IsSequence()) {
      for (size_t i = 0; i < node.size(); ++i)
        copy.push_back(substitute(node[i], values, config::item_path(path, i)));
    } else {
      for (const auto& kv : node)
        copy[kv.first.Scalar()] =
            substitute(kv.second, values, config::child_path(path, kv.first.Scalar()));
    }
    return copy;
  }

  static bool has_dollar(const YAML::Node& node) {
    if (node.IsScalar()) return !node.Scalar().empty() && node.Scalar()[0] == '$';
    if (node.IsSequence())
      for (const auto& item : node)
        if (has_dollar(item)) return true;
    if (node.IsMap())
      for (const auto& kv : node)
        if (has_dollar(kv.second)) return true;
    return false;
  }

  const config::ModelSpec& spec_;
  const LayerRegistry& registry_;
  Network& net_;
  std::vector<std::string> active_;  // blocks being expanded, outermost first
  std::shared_ptr<const config::Origins> origins_;
};

}  // namespace

const std::vector<ConstructDoc>& graph_constructs() {
  static const std::vector<ConstructDoc> docs{
      {"sequential",
       "a named group of layers, as d2l's b1..b5; its layers' checkpoint keys start with its name",
       {{"name", "sequential0, ...", "the group's name", {}},
        {"layers", "required", "the group's layers, a list as the model's own", {}}}},
      {"parallel",
       "branches applied to the same input, their outputs joined (Inception, residual and dense "
       "blocks)",
       {{"merge",
         "add",
         "add: equal shapes, summed; concat: equal sizes after the channels, joined "
         "along the channels (counts add)",
         {}},
        {"branches",
         "required",
         "a list of branches, each a list of layers; [] is the identity",
         {}},
        {"name", "parallel0, ...", "the group's name; branch i's keys go under branchi", {}}}},
      {"repeat",
       "the layers N times in a row, named on from those before (conv0, conv1, ...)",
       {{"times", "required", "how many times, at least 1", {}},
        {"layers", "required", "the layers to repeat", {}}}},
      {"blocks",
       "top-level key of a model file: named blocks, each used like a layer type (`NAME: {arg: "
       "value, name: ...}`), its `$arg`s replaced by the values given; blocks may use other blocks",
       {{"NAME.args", "{}", "each argument's default, or `required`", {}},
        {"NAME.layers", "required", "the block's layers, where `$arg` stands for a value", {}}}},
  };
  return docs;
}

Network build_network(const config::ModelSpec& spec, const Shape& input,
                      const LayerRegistry& registry) {
  Network net{torch::nn::Sequential(), input, {}};
  Scope scope;
  Builder(spec, registry, net).build_list(spec.layers, input, *net.body, scope, "", 0);
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
    if (l.depth == 0) out += l.name + " output shape:\t " + format_shape(l.output) + "\n";
  out += "\n";
  size_t width = 12;
  for (const auto& l : net.layers) width = std::max(width, l.name.size() + 2 * size_t(l.depth));
  const std::string row = "{:<" + std::to_string(width) + "} {:<20} {:<20} {:>14} {:>16} {:>12}\n";
  out += fmt::format(fmt::runtime(row), "layer", "type", "output shape", "parameters",
                     "multiply-adds", "activations");
  int64_t activation_bytes = 0;
  for (const auto& l : net.layers) {
    int64_t bytes = numel(l.output) * 4;  // float32, batch 1
    if (!l.group) activation_bytes += bytes;
    out += fmt::format(fmt::runtime(row), std::string(size_t(2 * l.depth), ' ') + l.name, l.type,
                       format_shape(l.output), grouped(l.parameters), grouped(l.macs),
                       human_bytes(bytes));
  }
  out += fmt::format(fmt::runtime(row), "total", "", "input " + format_shape(net.input),
                     grouped(net.parameters()), grouped(net.macs()), human_bytes(activation_bytes));
  out += fmt::format("parameter memory: {} (float32); activations are per example, forward only\n",
                     human_bytes(net.parameters() * 4));
  return out;
}

}  // namespace dlx::nn
