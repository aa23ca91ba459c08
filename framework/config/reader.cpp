#include "framework/config/reader.h"

namespace dlx::config {

namespace {
// yaml-cpp answers a missing key with an "invalid" node that throws when asked its type;
// an undefined node is what the rest of the reader expects.
YAML::Node lookup(const YAML::Node& map, const std::string& key) {
  if (!map.IsDefined() || !map.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  YAML::Node node = map[key];
  return node.IsDefined() ? node : YAML::Node(YAML::NodeType::Undefined);
}
}  // namespace

Reader::Reader(YAML::Node map, std::string path, std::shared_ptr<const Origins> origins)
    : map_(map.IsDefined() ? map : YAML::Node(YAML::NodeType::Undefined)),
      path_(std::move(path)),
      origins_(std::move(origins)) {
  if (map_.IsDefined() && !map_.IsNull() && !map_.IsMap()) {
    throw ConfigError(locate_self(), path_, "a mapping of keys", describe(map_));
  }
}

YAML::Node Reader::entry(const char* key) const {
  YAML::Node node = lookup(map_, key);
  // `key:` with nothing after it means "use the default", as in Hydra and yacs.
  if (node && node.IsNull()) return YAML::Node(YAML::NodeType::Undefined);
  return node;
}

Location Reader::locate(const std::string& key) const {
  std::string at = child_path(path_, key);
  YAML::Node node = lookup(map_, key);
  return node ? origins_->locate(at, node) : locate_self();
}

ConfigError Reader::missing(const std::string& key, const std::string& expected) const {
  return ConfigError(locate_self(), child_path(path_, key), expected,
                     "nothing (the key is required)");
}

ConfigError Reader::invalid(const std::string& key, const std::string& expected,
                            const std::string& hint) const {
  return ConfigError(locate(key), child_path(path_, key), expected, describe(lookup(map_, key)),
                     hint);
}

std::string KeyDoc::full_help() const {
  if (choices.empty()) return help;
  std::vector<std::string> head;
  for (size_t i = 0; i + 1 < choices.size(); ++i) head.push_back(choices[i].first);
  const std::string& last = choices.back().first;
  return help + ": " + (head.empty() ? last : join(head) + " or " + last);
}

void Reader::finish() const {
  reject_unknown({claimed_.begin(), claimed_.end()});
}

void Reader::reject_unknown(const std::vector<std::string>& names) const {
  if (!map_.IsDefined() || !map_.IsMap()) return;
  std::set<std::string> sorted(names.begin(), names.end());
  std::vector<std::string> known(sorted.begin(), sorted.end());
  for (const auto& entry : map_) {
    std::string key = entry.first.Scalar();
    if (sorted.count(key)) continue;
    std::string at = child_path(path_, key);
    throw ConfigError(origins_->locate(at, entry.first), at, "one of the keys " + join(known),
                      "unknown key '" + key + "'", did_you_mean(key, known));
  }
}

}  // namespace dlx::config
