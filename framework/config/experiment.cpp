// Loading an experiment or model file: reading it through the specs' visit(), then the checks
// that need several keys at once. Name tables are in choices.cpp, identities in identity.cpp, the
// YAML a run folder keeps in yaml_out.cpp.
#include "framework/config/experiment.h"

namespace dlx::config {

LayerSpec read_layer(const YAML::Node& item, const std::string& path,
                     const std::shared_ptr<const Origins>& origins) {
  // `- flatten` and `- conv2d: {...}` are both accepted.
  Location where = origins->locate(path, item);
  if (item.IsScalar())
    return LayerSpec{item.Scalar(), YAML::Node(YAML::NodeType::Null), path, where, origins};
  if (!item.IsMap() || item.size() != 1) {
    throw ConfigError(
        where, path, "one layer as {type: {key: value, ...}}, e.g. {conv2d: {out_channels: 6}}",
        item.IsMap() ? "a mapping with " + std::to_string(item.size()) + " keys" : describe(item));
  }
  auto entry = *item.begin();
  return LayerSpec{entry.first.Scalar(), entry.second, path, where, origins};
}

namespace {

void check_optimizer(const Tree& tree, const OptimizerSpec& o) {
  const std::string at = "train.optimizer.";
  if (o.betas.size() != 2 || o.betas[0] < 0 || o.betas[0] >= 1 || o.betas[1] < 0 ||
      o.betas[1] >= 1) {
    throw ConfigError(tree.locate(at + "betas"), at + "betas", "two numbers in [0, 1)",
                      Json(o.betas).dump());
  }
  if (o.nesterov && (o.type != OptimizerKind::kSgd || o.momentum <= 0)) {
    throw ConfigError::plain(tree.locate(at + "nesterov"), at + "nesterov",
                             "needs type sgd with momentum > 0 (found type " +
                                 std::string(choice_name(o.type)) + ", momentum " +
                                 number_text(o.momentum) + ")");
  }
}

void check_scheduler(const Tree& tree, const SchedulerSpec& s, int64_t epochs) {
  const std::string at = "train.scheduler.";
  if (s.type == SchedulerKind::kMultistep) {
    bool increasing = !s.milestones.empty();
    for (size_t i = 0; i < s.milestones.size(); ++i) {
      increasing =
          increasing && s.milestones[i] >= 1 && (i == 0 || s.milestones[i] > s.milestones[i - 1]);
    }
    if (!increasing) {
      throw ConfigError(tree.locate(at + "milestones"), at + "milestones",
                        "a non-empty increasing list of epochs >= 1 for type multistep",
                        Json(s.milestones).dump());
    }
  }
  if (s.warmup_epochs >= epochs && s.warmup_epochs > 0) {
    throw ConfigError(tree.locate(at + "warmup_epochs"), at + "warmup_epochs",
                      "fewer warm-up epochs than train.epochs (" + std::to_string(epochs) + ")",
                      std::to_string(s.warmup_epochs));
  }
  if (s.warmup_steps > 0 && !s.per_step) {
    throw ConfigError::plain(tree.locate(at + "warmup_steps"), at + "warmup_steps",
                             "counts optimizer updates, so it needs per_step: true (or use "
                             "warmup_epochs)");
  }
  if (s.warmup_steps > 0 && s.warmup_epochs > 0) {
    throw ConfigError::plain(tree.locate(at + "warmup_steps"), at + "warmup_steps",
                             "give warmup_steps or warmup_epochs, not both");
  }
}

bool valid_device(const std::string& device) {
  if (device == "auto" || device == "cpu" || device == "cuda") return true;
  const std::string prefix = "cuda:";
  if (device.size() <= prefix.size() || device.compare(0, prefix.size(), prefix) != 0) return false;
  return device.find_first_not_of("0123456789", prefix.size()) == std::string::npos;
}

void check_device(const Tree& tree, const std::string& device) {
  if (!valid_device(device)) {
    throw ConfigError(tree.locate("train.device"), "train.device", "auto, cpu, cuda or cuda:N",
                      "'" + device + "'");
  }
}

void check_input(const Tree& tree, const std::string& at, const std::vector<int64_t>& input) {
  bool ok = input.empty() || input.size() == 3;
  for (int64_t d : input) ok = ok && d > 0;
  if (!ok) {
    throw ConfigError(tree.locate(at), at, "[channels, height, width], all > 0",
                      Json(input).dump());
  }
}

void check_normalize(const Tree& tree, const NormalizeSpec& n) {
  if (n.kind != NormalizeKind::kGiven) return;
  bool ok = !n.mean.empty() && n.mean.size() == n.std.size();
  for (double s : n.std) ok = ok && s > 0;
  if (!ok)
    throw ConfigError(tree.locate("data.normalize"), "data.normalize",
                      "{mean: [..], std: [..]} of equal length, every std > 0",
                      Json(Codec<NormalizeSpec>::encode(n)).dump());
}

}  // namespace

ExperimentSpec load_experiment(const std::filesystem::path& path,
                               const std::vector<Override>& overrides) {
  Tree tree = load_experiment_tree(path, overrides);
  ExperimentSpec spec;
  if (!tree.root["model"])
    throw Reader(tree.root, "", tree.origins).missing("model", "a model file path or mapping");
  Reader::read(tree, spec);
  if (spec.name.empty()) spec.name = path.stem().string();
  if (spec.model.name.empty()) spec.model.name = spec.name;
  check_input(tree, "model.input", spec.model.input);
  check_normalize(tree, spec.data.normalize);
  check_optimizer(tree, spec.train.optimizer);
  check_scheduler(tree, spec.train.scheduler, spec.train.epochs);
  check_device(tree, spec.train.device);
  spec.data.source = std::make_shared<const Tree>(std::move(tree));
  return spec;
}

ModelSpec load_model(const std::filesystem::path& path, const std::vector<Override>& overrides) {
  Tree tree = load_model_tree(path, overrides);
  ModelSpec spec;
  Reader::read(tree, spec);
  if (spec.name.empty()) spec.name = path.stem().string();
  check_input(tree, "input", spec.input);
  return spec;
}

namespace {
bool decode_group(const YAML::Node& n, ParamGroupSpec& v) {
  if (!n.IsMap() || !n["params"]) return false;
  for (const auto& entry : n) {
    const std::string key = entry.first.Scalar();
    if (key != "params" && key != "lr_mult" && key != "weight_decay") return false;
  }
  const YAML::Node params = n["params"];
  if (params.IsScalar()) {
    v.params = {params.Scalar()};
  } else if (!Codec<std::vector<std::string>>::decode(params, v.params) || v.params.empty()) {
    return false;
  }
  if (n["lr_mult"] && (!Codec<double>::decode(n["lr_mult"], v.lr_mult) || v.lr_mult < 0))
    return false;
  if (n["weight_decay"] &&
      (!Codec<double>::decode(n["weight_decay"], v.weight_decay) || v.weight_decay < 0))
    return false;
  return true;
}

}  // namespace

bool Codec<std::vector<ParamGroupSpec>>::decode(const YAML::Node& n,
                                                std::vector<ParamGroupSpec>& v) {
  if (!n.IsSequence()) return false;
  std::vector<ParamGroupSpec> out(n.size());
  for (size_t i = 0; i < n.size(); ++i)
    if (!decode_group(n[i], out[i])) return false;
  v = std::move(out);
  return true;
}

Json Codec<std::vector<ParamGroupSpec>>::encode(const std::vector<ParamGroupSpec>& v) {
  Json out = Json::array();
  for (const auto& g : v) {
    Json group{{"params", g.params}, {"lr_mult", g.lr_mult}};
    // A negative decay is "the optimizer's", which is what leaving it out reads back as.
    if (g.weight_decay >= 0) group["weight_decay"] = g.weight_decay;
    out.push_back(group);
  }
  return out;
}

}  // namespace dlx::config
