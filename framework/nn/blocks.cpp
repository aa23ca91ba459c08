#include "framework/nn/blocks.h"

#include <algorithm>

#include "framework/config/arithmetic.h"
#include "framework/core/error.h"

namespace dlx::nn {

namespace {

bool has_dollar(const std::string& text) {
  return (!text.empty() && text[0] == '$') || text.find("${") != std::string::npos;
}

bool has_dollar(const YAML::Node& node) {
  if (node.IsScalar()) return has_dollar(node.Scalar());
  if (node.IsSequence())
    for (const auto& item : node)
      if (has_dollar(item)) return true;
  if (node.IsMap())
    for (const auto& kv : node)
      if (has_dollar(kv.first.Scalar()) || has_dollar(kv.second)) return true;
  return false;
}

// The names `repeat: {index: i}` binds inside `node` are for that repeat to put in.
std::vector<std::string> with_bound(const YAML::Node& map, std::vector<std::string> bound) {
  const YAML::Node repeat = map["repeat"];
  if (repeat && repeat.IsMap() && repeat["index"] && repeat["index"].IsScalar())
    bound.push_back(repeat["index"].Scalar());
  return bound;
}

bool is_bound(const std::vector<std::string>& bound, const std::string& name) {
  return std::find(bound.begin(), bound.end(), name) != bound.end();
}

}  // namespace

bool Blocks::has(const std::string& type) const {
  return spec_.blocks && spec_.blocks.IsMap() && spec_.blocks[type];
}

std::vector<std::string> Blocks::names() const {
  std::vector<std::string> names;
  if (spec_.blocks && spec_.blocks.IsMap())
    for (const auto& b : spec_.blocks) names.push_back(b.first.Scalar());
  return names;
}

Expansion Blocks::expand(const config::LayerSpec& use, config::Reader& args,
                         const std::vector<std::string>& active) {
  const std::string& type = use.type;
  const std::string def_path = config::child_path(config::child_path(spec_.path, "blocks"), type);
  if (std::find(active.begin(), active.end(), type) != active.end()) {
    std::string cycle;
    for (const auto& b : active) cycle += b + " -> ";
    throw ConfigError::plain(use.where, use.path,
                             "block '" + type + "' uses itself (" + cycle + type + ")");
  }
  config::Reader body(spec_.blocks[type], def_path, origins_);
  const YAML::Node declared = body.raw("args", "the block's arguments and their defaults",
                                       /*required=*/false);
  const YAML::Node layers = body.raw("layers", "the block's layers");
  Expansion out;
  body.field("numbered", out.numbered, "children named by position, as nn.Sequential's");
  body.finish();
  std::vector<std::string> known{"name"};
  const auto given = values(use, declared, def_path, known);
  args.reject_unknown(known);
  out.path = config::child_path(def_path, "layers");
  out.layers = substitute(layers, given, out.path, "block");
  return out;
}

Values Blocks::values(const config::LayerSpec& use, const YAML::Node& declared,
                      const std::string& def_path, std::vector<std::string>& known) const {
  Values out;
  if (!declared || declared.IsNull()) return out;
  if (!declared.IsMap()) {
    const std::string at = config::child_path(def_path, "args");
    throw ConfigError(origins_->locate(at, declared), at,
                      "a mapping of each argument to its default or `required`",
                      config::describe(declared));
  }
  for (const auto& a : declared) {
    const std::string key = a.first.Scalar();
    known.push_back(key);
    YAML::Node given = use.args && use.args.IsMap() ? use.args[key] : YAML::Node();
    if (given && !given.IsNull()) {
      out[key] = given;
    } else if (a.second.IsScalar() && a.second.Scalar() == "required") {
      throw ConfigError(use.where, config::child_path(config::child_path(use.path, use.type), key),
                        "a value (block '" + use.type + "' requires it)", "nothing");
    } else {
      out[key] = a.second;
    }
  }
  return out;
}

YAML::Node Blocks::substitute(const YAML::Node& node, const Values& values, const std::string& path,
                              const std::string& owner) {
  owner_ = owner;
  return put_in(node, values, path, {});
}

// Subtrees without a $ stay the very nodes of the file, so that messages still give their lines,
// and each copy remembers the node it was made from for the same reason.
YAML::Node Blocks::put_in(const YAML::Node& node, const Values& values, const std::string& path,
                          const std::vector<std::string>& bound) {
  if (!node || !has_dollar(node)) return node;
  if (node.IsScalar()) {
    const std::string& text = node.Scalar();
    const std::string name = text.substr(1);
    if (text[0] == '$' && text.size() > 1 && text[1] != '{') {
      if (auto it = values.find(name); it != values.end()) return it->second;
      if (is_bound(bound, name)) return node;
    }
    YAML::Node out(put_in_text(node, text, values, path, bound));
    if (out.Scalar() == text) return node;
    made_from_.emplace_back(out, node);
    return out;
  }
  YAML::Node copy(node.Type());
  if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i)
      copy.push_back(put_in(node[i], values, config::item_path(path, i), bound));
  } else {
    const auto inner = with_bound(node, bound);
    for (const auto& kv : node) {
      std::string key = kv.first.Scalar();
      if (has_dollar(key)) {
        // A key that is one $name takes a layer type or block from the values (a family's
        // block kind: basic or bottleneck).
        const YAML::Node k = put_in(kv.first, values, path, bound);
        if (!k.IsScalar())
          throw ConfigError(origins_->locate(path, node), config::child_path(path, key),
                            "a name for a key", config::describe(k));
        key = k.Scalar();
      }
      copy[key] = put_in(kv.second, values, config::child_path(path, key), inner);
    }
  }
  made_from_.emplace_back(copy, node);
  return copy;
}

// `text` with each ${expr} (or the whole `$name`) replaced; an expression that uses a name a
// repeat inside binds is left for that repeat to put in.
std::string Blocks::put_in_text(const YAML::Node& node, const std::string& text,
                                const Values& values, const std::string& path,
                                const std::vector<std::string>& bound) {
  std::vector<std::string> names;
  for (const auto& [k, v] : values) names.push_back("$" + k);
  const bool whole = text[0] == '$' && (text.size() < 2 || text[1] != '{');
  if (whole)
    throw ConfigError(origins_->locate(path, node), path,
                      names.empty() ? "no $name (the " + owner_ + " declares no args)"
                                    : "one of the " + owner_ + "'s args " + join(names),
                      "'" + text + "'", did_you_mean(text, names));
  std::string out;
  size_t at = 0;
  while (true) {
    const size_t open = text.find("${", at);
    if (open == std::string::npos) break;
    const size_t close = text.find('}', open);
    if (close == std::string::npos)
      throw ConfigError(origins_->locate(path, node), path, "${...} closed by '}'",
                        "'" + text + "'");
    out += text.substr(at, open - at);
    const config::Arithmetic result =
        config::evaluate(text.substr(open + 2, close - open - 2), values);
    const std::string& error = result.error;
    const std::string& unknown = result.unknown;
    const double v = result.value;
    if (!unknown.empty() && is_bound(bound, unknown)) {
      // A repeat inside puts its index in later; the names known here go in now.
      out += "${" + config::with_known(text.substr(open + 2, close - open - 2), values) + "}";
      at = close + 1;
      continue;
    }
    if (!error.empty())
      throw ConfigError(origins_->locate(path, node), path,
                        "arithmetic on " + (names.empty() ? std::string("numbers") : join(names)),
                        "'" + text + "' (" + error + ")");
    out += config::number_text_exact(v);
    at = close + 1;
  }
  return out + text.substr(at);
}

Values Blocks::model_values() const {
  Values out;
  const YAML::Node& args = spec_.args;
  const std::string at = config::child_path(spec_.path, "args");
  if (!args || args.IsNull()) return out;
  if (!args.IsMap())
    throw ConfigError(origins_->locate(at, args), at, "a mapping of each argument to its value",
                      config::describe(args));
  for (const auto& a : args) {
    const std::string key = a.first.Scalar();
    if (a.second.IsScalar() && a.second.Scalar() == "required")
      throw ConfigError(origins_->locate(config::child_path(at, key), a.second),
                        config::child_path(at, key),
                        "a value (the model requires it: a file with `base:` gives it, or --set " +
                            config::child_path(at, key) + "=...)",
                        "required");
    out[key] = a.second;
  }
  return out;
}

Location Blocks::locate(const std::string& path, const YAML::Node& node) const {
  for (const auto& [made, original] : made_from_)
    if (made.is(node)) return origins_->locate(path, original);
  return origins_->locate(path, node);
}

}  // namespace dlx::nn
