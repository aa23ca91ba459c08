#include "framework/nn/builder.h"

#include <map>

#include "framework/nn/blocks.h"
#include "framework/nn/groups.h"

namespace dlx::nn {

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
// as each PyTorch container numbers its own children; a numbered one names them by position.
struct Scope {
  bool numbered = false;
  int position = 0;
  std::map<std::string, int> counters;
  std::map<std::string, std::string> taken;  // name -> path of the entry that took it
};

// Where an entry goes: its module container, the scope its name is taken in, and the two name
// paths it continues (among the modules, and in the checkpoint).
struct Place {
  torch::nn::SequentialImpl& into;
  Scope& scope;
  std::string module_prefix;  // "b2.parallel0.branch0."
  std::string key_prefix;     // "b2." when that parallel is inline
  int depth;
};

// Bounds on what a model file can ask for, checked as it is built rather than after: the largest
// networks people build (DenseNet-201, ResNet-152) have under a thousand layers.
constexpr int64_t kMaxRepeat = 1000;
constexpr int64_t kMaxLayers = 10000;

Shape broadcast_shape(const Shape& a, const Shape& b, bool& fits) {
  fits = a.size() == b.size();
  Shape out = a;
  for (size_t i = 0; fits && i < a.size(); ++i) {
    fits = a[i] == b[i] || a[i] == 1 || b[i] == 1;
    out[i] = std::max(a[i], b[i]);
  }
  return out;
}

class Builder {
 public:
  Builder(const config::ModelSpec& spec, const LayerRegistry& registry, Network& net)
      : registry_(registry),
        net_(net),
        origins_(spec.origins || spec.layers.empty() ? spec.origins : spec.layers[0].origins),
        blocks_(spec, origins_) {}

  // The model's own list, its `args:` put in.
  Shape build_model(const config::ModelSpec& spec, const Shape& input) {
    Scope scope;
    Place top{*net_.body, scope, "", "", 0};
    const Values values = blocks_.model_values();
    if (values.empty()) return build_list(spec.layers, input, top);
    Shape shape = input;
    for (const auto& layer : spec.layers) {
      YAML::Node item(YAML::NodeType::Map);
      item[layer.type] = layer.args;
      const YAML::Node put = blocks_.substitute(item, values, layer.path, "model");
      config::LayerSpec given = config::read_layer(put, layer.path, origins());
      given.where = layer.where;
      shape = build_entry(given, shape, top);
    }
    return shape;
  }

 private:
  Shape build_list(const std::vector<config::LayerSpec>& layers, Shape shape, Place& at) {
    for (const auto& layer : layers) shape = build_entry(layer, shape, at);
    return shape;
  }

  Shape build_entry(const config::LayerSpec& layer, const Shape& shape, Place& at) {
    const std::string args_path = config::child_path(layer.path, layer.type);
    config::Reader args(layer.args, args_path, layer.origins);
    if (layer.type == "repeat") return build_repeat(args, args_path, shape, at);
    if (layer.type == "sequential" || layer.type == "parallel" || blocks_.has(layer.type))
      return build_group(layer, args, args_path, shape, at);
    const LayerType* type = registry_.find(layer.type);
    if (!type) {
      std::vector<std::string> names = registry_.names();
      for (const char* g : {"sequential", "parallel", "repeat"}) names.push_back(g);
      for (const auto& b : blocks_.names()) names.push_back(b);
      throw ConfigError(layer.where, layer.path, "a layer type or block (see `dlx layers`)",
                        "'" + layer.type + "'", did_you_mean(layer.type, names));
    }
    const std::string name = take_name(args, args_path, type->prefix, at.scope, layer.path);
    if (++built_ > kMaxLayers)
      throw ConfigError::plain(layer.where, layer.path,
                               "the model has more than " + std::to_string(kMaxLayers) +
                                   " layers (repeats and blocks counted out); dlx builds at most "
                                   "that many");
    BuiltLayer built = type->build(args, BuildInput{shape, name, layer.path, layer.where});
    at.into.push_back(name, built.module);
    net_.layers.push_back({at.key_prefix + name, at.module_prefix + name, layer.type, built.output,
                           count_parameters(*at.into.children().back()), built.macs, at.depth,
                           false});
    return built.output;
  }

  // `positional`: the entry is a child of its container (an inline parallel is not: its
  // branches' layers are).
  std::string take_name(config::Reader& args, const std::string& args_path, const std::string& stem,
                        Scope& scope, const std::string& path, bool positional = true) {
    std::string name = scope.numbered && positional ? std::to_string(scope.position)
                                                    : stem + std::to_string(scope.counters[stem]++);
    if (positional) ++scope.position;
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
      throw ConfigError(node ? blocks_.locate(path, node) : where, path,
                        may_be_empty ? "a list of layers" : "a non-empty list of layers",
                        config::describe(node));
    std::vector<config::LayerSpec> out;
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string item = config::item_path(path, i);
      out.push_back(config::read_layer(node[i], item, origins()));
      // A layer inside a block, with values put in, is located where the block wrote it.
      out.back().where = blocks_.locate(item, node[i]);
    }
    return out;
  }

  Shape build_repeat(config::Reader& args, const std::string& path, Shape shape, Place& at) {
    int64_t times = 1;
    std::string index;
    // 0 is allowed: a family's "the rest of the stage's blocks" may be none.
    args.required("times", times, "how many times the layers come",
                  config::Check<int64_t>{[](const int64_t& t) { return t >= 0 && t <= kMaxRepeat; },
                                         "0 to " + std::to_string(kMaxRepeat)});
    args.field("index", index,
               "a name for the repetition's number (0, 1, ...) in $name or ${expr}");
    const std::string list_path = config::child_path(path, "layers");
    const YAML::Node list = args.raw("layers", "the layers to repeat");
    args.finish();
    for (int64_t t = 0; t < times; ++t) {
      const YAML::Node put =
          index.empty() ? list
                        : blocks_.substitute(list, {{index, YAML::Node(std::to_string(t))}},
                                             list_path, "repeat");
      shape = build_list(read_list(put, list_path, args.locate_self(), false), shape, at);
    }
    return shape;
  }

  Shape build_group(const config::LayerSpec& layer, config::Reader& args,
                    const std::string& args_path, const Shape& shape, Place& at) {
    bool inline_keys = false;
    if (layer.type == "parallel")
      args.field("inline", inline_keys,
                 "the branches' layers are named beside the parallel, as one PyTorch module's "
                 "children");
    const std::string name =
        take_name(args, args_path, layer.type, at.scope, layer.path, !inline_keys);
    const size_t row = net_.layers.size();
    net_.layers.push_back(
        {at.key_prefix + name, at.module_prefix + name, layer.type, {}, 0, 0, at.depth, true});
    Shape out;
    torch::nn::AnyModule module;
    if (layer.type == "parallel") {
      module = build_parallel(args, args_path, layer, shape, at, name, inline_keys, out);
    } else {
      Expansion list;
      if (layer.type == "sequential") {
        list.layers = args.raw("layers", "the group's layers");
        list.path = config::child_path(args_path, "layers");
        args.field("numbered", list.numbered, "children named by position, as nn.Sequential's");
        args.finish();
      } else {
        list = blocks_.expand(layer, args, active_);
        active_.push_back(layer.type);
      }
      const auto layers = read_list(list.layers, list.path, layer.where, false);
      Group group;
      Scope inner;
      inner.numbered = list.numbered;
      Place in{*group, inner, at.module_prefix + name + ".", at.key_prefix + name + ".",
               at.depth + 1};
      out = build_list(layers, shape, in);
      if (layer.type != "sequential") active_.pop_back();
      module = torch::nn::AnyModule(group);
    }
    at.into.push_back(name, module);
    finish_group_row(row, out);
    return out;
  }

  torch::nn::AnyModule build_parallel(config::Reader& args, const std::string& path,
                                      const config::LayerSpec& layer, const Shape& shape, Place& at,
                                      const std::string& name, bool inline_keys, Shape& out) {
    std::string merge = "add";
    args.field("merge", merge, "how branch outputs join", config::one_of({"add", "concat", "mul"}));
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
      const std::string branch = name + ".branch" + std::to_string(i) + ".";
      Group group;
      Scope own;
      Place in{*group, inline_keys ? at.scope : own, at.module_prefix + branch,
               inline_keys ? at.key_prefix : at.key_prefix + branch, at.depth + 1};
      outs.push_back(build_list(layers, shape, in));
      branches.push_back(group);
    }
    const Merge kind = merge == "add"      ? Merge::kAdd
                       : merge == "concat" ? Merge::kConcat
                                           : Merge::kMul;
    out = merged_shape(outs, kind, layer, path);
    return torch::nn::AnyModule(Parallel(std::move(branches), kind));
  }

  static Shape merged_shape(const std::vector<Shape>& outs, Merge merge,
                            const config::LayerSpec& layer, const std::string& path) {
    Shape out = outs[0];
    for (size_t i = 1; i < outs.size(); ++i) {
      const Shape& s = outs[i];
      bool fits = false;
      if (merge == Merge::kConcat)
        fits = s.size() == out.size() && s.size() >= 1 &&
               std::equal(s.begin() + 1, s.end(), out.begin() + 1);
      else if (merge == Merge::kAdd)
        fits = s == out;
      const Shape joined = merge == Merge::kMul ? broadcast_shape(out, s, fits) : out;
      if (!fits)
        throw ConfigError::plain(
            layer.where, path,
            std::string("merge ") +
                (merge == Merge::kConcat ? "concat needs equal sizes after the channels"
                 : merge == Merge::kAdd
                     ? "add needs equal shapes"
                     : "mul needs shapes that broadcast (each size equal or 1)") +
                ", but branch 0 gives " + format_shape(outs[0]) + " and branch " +
                std::to_string(i) + " gives " + format_shape(s));
      if (merge == Merge::kConcat) out[0] += s[0];
      if (merge == Merge::kMul) out = joined;
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

  const std::shared_ptr<const config::Origins>& origins() const { return origins_; }

  const LayerRegistry& registry_;
  Network& net_;
  std::shared_ptr<const config::Origins> origins_;
  Blocks blocks_;
  std::vector<std::string> active_;  // blocks being expanded, outermost first
  int64_t built_ = 0;                // layers built so far
};

}  // namespace

const std::vector<ConstructDoc>& graph_constructs() {
  static const std::vector<ConstructDoc> docs{
      {"sequential",
       "a named group of layers, as d2l's b1..b5; its layers' checkpoint keys start with its name",
       {{"name", "sequential0, ...", "the group's name", {}},
        {"layers", "required", "the group's layers, a list as the model's own", {}},
        {"numbered", "false", "children named 0, 1, ... by position, as nn.Sequential's", {}}}},
      {"parallel",
       "branches applied to the same input, their outputs joined (Inception, residual and dense "
       "blocks)",
       {{"merge",
         "add",
         "add: equal shapes, summed; concat: equal sizes after the channels, joined "
         "along the channels (counts add); mul: multiplied, shapes broadcast (a gate)",
         {}},
        {"inline",
         "false",
         "the branches' layers are named beside the parallel (no parallelN.branchI in their "
         "keys), as children of one PyTorch module whose forward joins them",
         {}},
        {"branches",
         "required",
         "a list of branches, each a list of layers; [] is the identity",
         {}},
        {"name", "parallel0, ...", "the group's name; branch i's keys go under branchi", {}}}},
      {"repeat",
       "the layers N times in a row, named on from those before (conv0, conv1, ...)",
       {{"times", "required", "how many times (0: none)", {}},
        {"layers", "required", "the layers to repeat", {}},
        {"index",
         "none",
         "a name for the repetition's number (0, 1, ...), as $name or in ${expr}",
         {}}}},
      {"blocks",
       "top-level key of a model file: named blocks, each used like a layer type (`NAME: {arg: "
       "value, name: ...}`), its `$arg`s replaced by the values given; blocks may use other blocks",
       {{"NAME.args", "{}", "each argument's default, or `required`", {}},
        {"NAME.layers",
         "required",
         "the block's layers, where `$arg` stands for a value and ${expr} for arithmetic on them",
         {}},
        {"NAME.numbered",
         "false",
         "children named 0, 1, ... by position, as nn.Sequential's",
         {}}}},
  };
  return docs;
}

Network build_network(const config::ModelSpec& spec, const Shape& input,
                      const LayerRegistry& registry) {
  Network net{torch::nn::Sequential(), input, {}};
  Builder(spec, registry, net).build_model(spec, input);
  return net;
}

}  // namespace dlx::nn
