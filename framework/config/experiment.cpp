#include "framework/config/experiment.h"

#include <cstdio>

#include "framework/core/files.h"

namespace dlx::config {

const std::vector<Choice<CacheKind>>& Choices<CacheKind>::all() {
  static const std::vector<Choice<CacheKind>> table{
      {CacheKind::kAuto, "auto", "memory when the decoded images fit in half the free memory"},
      {CacheKind::kMemory, "memory", "decode once, on all cores; later epochs read memory"},
      {CacheKind::kNone, "none", "decode each batch's files again, on a pool of threads"}};
  return table;
}

const std::vector<Choice<OptimizerKind>>& Choices<OptimizerKind>::all() {
  static const std::vector<Choice<OptimizerKind>> table{
      {OptimizerKind::kSgd, "sgd", "SGD, with momentum, Nesterov and weight decay"},
      {OptimizerKind::kAdam, "adam", "Adam (weight decay as an L2 penalty)"},
      {OptimizerKind::kAdamW, "adamw", "AdamW (decoupled weight decay)"}};
  return table;
}

const std::vector<Choice<SchedulerKind>>& Choices<SchedulerKind>::all() {
  static const std::vector<Choice<SchedulerKind>> table{
      {SchedulerKind::kNone, "none", "the optimizer's lr throughout (after any warm-up)"},
      {SchedulerKind::kStep, "step", "lr x gamma every step_size epochs"},
      {SchedulerKind::kMultistep, "multistep", "lr x gamma after each of the milestones"},
      {SchedulerKind::kCosine, "cosine", "cosine decay from lr to min_lr over the epochs"}};
  return table;
}

const std::vector<Choice<InitKind>>& Choices<InitKind>::all() {
  static const std::vector<Choice<InitKind>> table{
      {InitKind::kDefault, "default", "LibTorch's own initialisation"},
      {InitKind::kXavierUniform, "xavier_uniform", "Glorot uniform (d2l's AlexNet)"},
      {InitKind::kXavierNormal, "xavier_normal", "Glorot normal"},
      {InitKind::kKaimingUniform, "kaiming_uniform", "He uniform, fan-in, for ReLU"},
      {InitKind::kKaimingNormal, "kaiming_normal", "He normal, fan-in, for ReLU"}};
  return table;
}

const std::vector<Choice<SelectKind>>& Choices<SelectKind>::all() {
  static const std::vector<Choice<SelectKind>> table{
      {SelectKind::kAuto, "auto", "val_acc when there is validation, else the last epoch"},
      {SelectKind::kLast, "last", "the last epoch"},
      {SelectKind::kValAcc, "val_acc", "the epoch of highest validation accuracy"},
      {SelectKind::kValLoss, "val_loss", "the epoch of lowest validation loss"}};
  return table;
}

const std::vector<Choice<PrecisionKind>>& Choices<PrecisionKind>::all() {
  static const std::vector<Choice<PrecisionKind>> table{
      {PrecisionKind::kFp32, "fp32", "float32 throughout"},
      {PrecisionKind::kBf16, "bf16",
       "bfloat16 autocast, as torch.autocast: fast where the CPU has AVX512-BF16 or AMX, and on "
       "GPUs from Ampere on; elsewhere dlx says so and trains in fp32"},
      {PrecisionKind::kFp16, "fp16",
       "float16 autocast on a CUDA GPU, with dynamic loss scaling as torch.cuda.amp.GradScaler "
       "(steps whose gradients overflow are skipped and counted); on the CPU dlx says so and "
       "trains in fp32"}};
  return table;
}

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

Json resolved_json(ExperimentSpec& spec) {
  return JsonWriter::write(spec);
}

const Json& default_json() {
  static const Json defaults = [] {
    ExperimentSpec spec;
    return resolved_json(spec);
  }();
  return defaults;
}

namespace {
Json pruned(const Json& value, const Json& fallback) {
  if (!value.is_object() || !fallback.is_object()) return value;
  Json out = Json::object();
  for (const auto& [key, child] : value.items()) {
    if (!fallback.contains(key)) {
      out[key] = child;
      continue;
    }
    // Compared in canonical form (keys sorted), so key order never makes a difference.
    if (nlohmann::json(child) == nlohmann::json(fallback[key])) continue;
    Json inner = pruned(child, fallback[key]);
    if (!(inner.is_object() && inner.empty() && child.is_object())) out[key] = inner;
  }
  return out;
}
}  // namespace

namespace {
Json merged(const Json& fallback, const Json& value) {
  if (!value.is_object() || !fallback.is_object()) return value;
  Json out = fallback;
  for (const auto& [key, child] : value.items())
    out[key] = out.contains(key) ? merged(out[key], child) : child;
  return out;
}
}  // namespace

Json with_defaults(const Json& config) {
  return merged(default_json(), config);
}

Json non_default_json(const Json& resolved) {
  return pruned(resolved, default_json());
}

std::string config_identity(const Json& resolved) {
  // Canonical form: sorted keys, compact. FNV-1a is enough to tell configurations apart.
  // A string that is not UTF-8 (YAML allows any bytes) is hashed with replacement characters
  // rather than thrown on.
  const std::string canonical = nlohmann::json(non_default_json(resolved))
                                    .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(fnv1a(canonical)));
  return text;
}

namespace {
void collect_differences(const Json& a, const Json& b, const std::string& path,
                         std::vector<std::string>& out) {
  if (a.is_object() && b.is_object()) {
    for (const auto& [key, value] : a.items()) {
      collect_differences(value, b.contains(key) ? b[key] : Json(), child_path(path, key), out);
    }
    for (const auto& [key, value] : b.items()) {
      if (!a.contains(key)) out.push_back(child_path(path, key));
    }
  } else if (a.is_array() && b.is_array() && a.size() == b.size()) {
    // Element by element, so that mappings inside (a layer's arguments) compare by key, not by
    // the order a tool wrote them in; a difference names the list.
    std::vector<std::string> inside;
    for (size_t i = 0; i < a.size(); ++i) collect_differences(a[i], b[i], path, inside);
    if (!inside.empty()) out.push_back(path);
  } else if (a != b) {
    out.push_back(path);
  }
}
}  // namespace

std::vector<std::string> differing_keys(const Json& a, const Json& b) {
  std::vector<std::string> out;
  collect_differences(a, b, "", out);
  return out;
}

std::vector<std::string> identity_differences(const Json& a, const Json& b) {
  return differing_keys(non_default_json(a), non_default_json(b));
}

namespace {

bool all_scalars(const Json& j) {
  for (const auto& item : j)
    if (item.is_structured()) return false;
  return true;
}

void emit(YAML::Emitter& out, const Json& j) {
  if (j.is_object()) {
    out << (all_scalars(j) && !j.empty() ? YAML::Flow : YAML::Block) << YAML::BeginMap;
    for (const auto& [key, value] : j.items()) {
      out << YAML::Key << key << YAML::Value;
      emit(out, value);
    }
    out << YAML::EndMap;
  } else if (j.is_array()) {
    out << (all_scalars(j) ? YAML::Flow : YAML::Block) << YAML::BeginSeq;
    for (const auto& item : j) emit(out, item);
    out << YAML::EndSeq;
  } else if (j.is_string()) {
    // A string that YAML would read back as a number, bool or null must stay a string.
    const std::string& s = j.get_ref<const std::string&>();
    bool ambiguous = s.empty();
    try {
      ambiguous = ambiguous || !to_json(YAML::Load(s)).is_string();
    } catch (const YAML::Exception&) {
      ambiguous = true;
    }
    out << (ambiguous ? YAML::DoubleQuoted : YAML::Auto) << s;
  } else if (j.is_null()) {
    out << YAML::Null;
  } else {
    out << j.dump();  // numbers in their shortest round-trip form
  }
}

}  // namespace

std::string to_yaml(const Json& resolved) {
  YAML::Emitter out;
  emit(out, resolved);
  return std::string(out.c_str()) + "\n";
}

}  // namespace dlx::config
