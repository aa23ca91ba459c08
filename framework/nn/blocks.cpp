#include "framework/nn/blocks.h"

#include <algorithm>

#include "framework/core/error.h"

namespace dlx::nn {

namespace {

bool has_dollar(const YAML::Node& node) {
  if (node.IsScalar()) return !node.Scalar().empty() && node.Scalar()[0] == '$';
  if (node.IsSequence())
    for (const auto& item : node)
      if (has_dollar(item)) return true;
  if (node.IsMap())
    for (const auto& kv : node)
      if (has_dollar(kv.second)) return true;
  return false;
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

std::pair<YAML::Node, std::string> Blocks::expand(const config::LayerSpec& use,
                                                  config::Reader& args,
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
  body.finish();
  std::vector<std::string> known{"name"};
  const auto given = values(use, declared, def_path, known);
  args.reject_unknown(known);
  const std::string list_path = config::child_path(def_path, "layers");
  return {substitute(layers, given, list_path), list_path};
}

std::map<std::string, YAML::Node> Blocks::values(const config::LayerSpec& use,
                                                 const YAML::Node& declared,
                                                 const std::string& def_path,
                                                 std::vector<std::string>& known) const {
  std::map<std::string, YAML::Node> out;
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

// A copy of `node` with each "$name" scalar replaced by that argument's value; subtrees without
// one stay the very nodes of the file, so that messages still give their lines, and each copy
// remembers the node it was made from for the same reason.
YAML::Node Blocks::substitute(const YAML::Node& node,
                              const std::map<std::string, YAML::Node>& values,
                              const std::string& path) {
  if (!node) return node;
  if (node.IsScalar()) {
    const std::string& text = node.Scalar();
    if (text.size() < 2 || text[0] != '$') return node;
    auto it = values.find(text.substr(1));
    if (it == values.end()) {
      std::vector<std::string> names;
      for (const auto& [k, v] : values) names.push_back("$" + k);
      throw ConfigError(origins_->locate(path, node), path,
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
  made_from_.emplace_back(copy, node);
  return copy;
}

Location Blocks::locate(const std::string& path, const YAML::Node& node) const {
  for (const auto& [made, original] : made_from_)
    if (made.is(node)) return origins_->locate(path, original);
  return origins_->locate(path, node);
}

}  // namespace dlx::nn
