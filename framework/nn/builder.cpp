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
// as each PyTorch container numbers its own children.
struct Scope {
  std::map<std::string, int> counters;
  std::map<std::string, std::string> taken;  // name -> path of the entry that took it
};

// Bounds on what a model file can ask for, checked as it is built rather than after: the largest
// networks people build (DenseNet-201, ResNet-152) have under a thousand layers.
constexpr int64_t kMaxRepeat = 1000;
constexpr int64_t kMaxLayers = 10000;

class Builder {
 public:
  Builder(const config::ModelSpec& spec, const LayerRegistry& registry, Network& net)
      : registry_(registry),
        net_(net),
        origins_(spec.origins || spec.layers.empty() ? spec.origins : spec.layers[0].origins),
        blocks_(spec, origins_) {}

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
    if (layer.type == "sequential" || layer.type == "parallel" || blocks_.has(layer.type))
      return build_group(layer, args, args_path, shape, into, scope, prefix, depth);
    const LayerType* type = registry_.find(layer.type);
    if (!type) {
      std::vector<std::string> names = registry_.names();
      for (const char* g : {"sequential", "parallel", "repeat"}) names.push_back(g);
      for (const auto& b : blocks_.names()) names.push_back(b);
      throw ConfigError(layer.where, layer.path, "a layer type or block (see `dlx layers`)",
                        "'" + layer.type + "'", did_you_mean(layer.type, names));
    }
    const std::string name = take_name(args, args_path, type->prefix, scope, layer.path);
    if (++built_ > kMaxLayers)
      throw ConfigError::plain(layer.where, layer.path,
                               "the model has more than " + std::to_string(kMaxLayers) +
                                   " layers (repeats and blocks counted out); dlx builds at most "
                                   "that many");
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

  Shape build_repeat(config::Reader& args, const std::string& path, Shape shape,
                     torch::nn::SequentialImpl& into, Scope& scope, const std::string& prefix,
                     int depth) {
    int64_t times = 1;
    args.required("times", times, "how many times the layers come",
                  config::Check<int64_t>{[](const int64_t& t) { return t >= 1 && t <= kMaxRepeat; },
                                         "1 to " + std::to_string(kMaxRepeat)});
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
        const auto [list, list_path] = blocks_.expand(layer, args, active_);
        layers = read_list(list, list_path, layer.where, false);
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

}  // namespace dlx::nn
