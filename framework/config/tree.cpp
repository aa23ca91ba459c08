#include "framework/config/tree.h"

#include <yaml-cpp/depthguard.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "framework/config/codec.h"
#include "framework/core/files.h"

namespace dlx::config {

namespace fs = std::filesystem;

std::string child_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string item_path(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

namespace {

Location location_of(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return {file, 0, 0};
  return {file, mark.line + 1, mark.column + 1};
}

// Where the first byte that breaks UTF-8 lies in `text`, or npos when there is none. Overlong
// forms and surrogates are refused too, as JSON writers and file systems would refuse them later.
size_t first_non_utf8(const std::string& text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char c = byte(i);
    const size_t extra = c < 0x80                ? 0
                         : c >= 0xC2 && c < 0xE0 ? 1
                         : c >= 0xE0 && c < 0xF0 ? 2
                         : c >= 0xF0 && c < 0xF5 ? 3
                                                 : 99;  // a continuation byte, or never valid
    if (extra == 99 || i + extra >= text.size()) return i;
    for (size_t k = 1; k <= extra; ++k)
      if ((byte(i + k) & 0xC0) != 0x80) return i;
    const unsigned char next = extra ? byte(i + 1) : 0;
    if ((c == 0xE0 && next < 0xA0) || (c == 0xED && next >= 0xA0) || (c == 0xF0 && next < 0x90) ||
        (c == 0xF4 && next >= 0x90))
      return i;
    i += extra + 1;
  }
  return std::string::npos;
}

// Deeper than this, a tree is a mistake or an attack; yaml-cpp's own parser stops at 500 levels,
// past which parse_yaml_text reports this bound too.
constexpr int kMostDepth = 100;

std::string too_deep_message() {
  return "the YAML nests too deep: at most " + std::to_string(kMostDepth) + " levels";
}

// The checks every parsed tree passes before anyone reads it, in one walk. Aliases (`*a`) share
// their anchor's node, so a 1 KB file whose aliases nest 9 deep is a tree of 10^9 nodes to every
// later walk ("billion laughs"): the walk counts the nodes it meets against a budget that grows
// with the file's size and stops at it, so that every later walk is bounded by the text's length.
class TreeCheck {
 public:
  TreeCheck(std::string file, size_t bytes)
      : file_(std::move(file)), budget_(std::max(kLeastNodes, kNodesPerByte * bytes)) {}

  void walk(const YAML::Node& node, const std::string& path, int depth) {
    count(node, path, depth);
    if (node.IsScalar()) check_text(node, path);
    if (node.IsSequence()) {
      size_t i = 0;
      for (const auto& item : node) walk(item, item_path(path, i++), depth + 1);
    }
    if (node.IsMap()) walk_map(node, path, depth);
  }

 private:
  static constexpr size_t kNodesPerByte = 16, kLeastNodes = 4096;

  // Errors name the top-level key only: the path down to where the bound was met says nothing
  // more, and through nested aliases it can run to hundreds of "[0]".
  void count(const YAML::Node& node, const std::string& path, int depth) {
    const std::string top = path.substr(0, path.find_first_of(".[", 1));
    if (depth > kMostDepth) {
      throw ConfigError::plain(location_of(file_, node.Mark()), top, too_deep_message());
    }
    if (++seen_ > budget_) {
      throw ConfigError::plain(
          location_of(file_, node.Mark()), top,
          "aliases (*name) expand the YAML to more than " + std::to_string(budget_) +
              " nodes (the bound: " + std::to_string(kNodesPerByte) +
              " per byte of the file, at least " + std::to_string(kLeastNodes) + ")");
    }
  }

  void check_text(const YAML::Node& node, const std::string& path) const {
    const size_t at = first_non_utf8(node.Scalar());
    if (at == std::string::npos) return;
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(node.Scalar()[at]));
    throw ConfigError(
        location_of(file_, node.Mark()), path, "UTF-8 text",
        std::string("the byte ") + byte + " (at byte " + std::to_string(at + 1) + " of the value)");
  }

  // yaml-cpp keeps both entries of a repeated key and silently reads the first; reject it instead.
  void walk_map(const YAML::Node& node, const std::string& path, int depth) {
    std::map<std::string, YAML::Mark> seen;
    for (const auto& entry : node) {
      count(entry.first, path, depth + 1);
      check_text(entry.first, path);
      const std::string key = entry.first.Scalar();
      auto [it, inserted] = seen.emplace(key, entry.first.Mark());
      if (!inserted) {
        throw ConfigError::plain(
            location_of(file_, entry.first.Mark()), child_path(path, key),
            "duplicate key (first given at line " + std::to_string(it->second.line + 1) + ")");
      }
      walk(entry.second, child_path(path, key), depth + 1);
    }
  }

  std::string file_;
  size_t budget_, seen_ = 0;
};

}  // namespace

YAML::Node parse_yaml_text(const std::string& text, const std::string& origin) {
  // yaml-cpp 0.7 can throw from a noexcept function (std::terminate) on some texts holding NUL
  // bytes (the fuzzer found one in a --set range); YAML allows none, so they never reach it.
  if (text.find('\0') != std::string::npos)
    throw ConfigError::plain({origin}, "", "expected text, found a NUL byte");
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    throw ConfigError::plain(location_of(origin, e.mark), "", too_deep_message());
  } catch (const YAML::Exception& e) {
    throw ConfigError::plain(location_of(origin, e.mark), "", "invalid YAML: " + e.msg);
  }
  TreeCheck(origin, text.size()).walk(root, "", 0);
  return root;
}

YAML::Node parse_yaml_file(const fs::path& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const RuntimeError&) {
    throw ConfigError::plain({path.string()}, "", "cannot read file (missing or unreadable)");
  }
  if (text.find('\0') != std::string::npos) {
    throw ConfigError::plain({path.string()}, "", "not a text file (it contains NUL bytes)");
  }
  return parse_yaml_text(text, path.string());
}

namespace {
// Whether dotted `path` is `ancestor` or lies below it ("" is everyone's ancestor).
bool is_within(const std::string& path, const std::string& ancestor) {
  if (ancestor.empty()) return true;
  if (path.compare(0, ancestor.size(), ancestor) != 0) return false;
  return path.size() == ancestor.size() || path[ancestor.size()] == '.' ||
         path[ancestor.size()] == '[';
}
}  // namespace

void Origins::set(const std::string& path, std::string origin, bool has_marks) {
  // A subtree that was replaced wholesale forgets what its old children came from.
  for (auto it = by_path_.begin(); it != by_path_.end();) {
    it = is_within(it->first, path) ? by_path_.erase(it) : std::next(it);
  }
  by_path_[path] = Entry{std::move(origin), has_marks};
}

void Origins::merge(const Origins& other) {
  for (const auto& [path, entry] : other.by_path_) set(path, entry.origin, entry.has_marks);
}

Location Origins::locate(const std::string& path, const YAML::Node& node) const {
  const Entry* best = nullptr;
  size_t best_length = 0;
  for (const auto& [key, entry] : by_path_) {
    if (is_within(path, key) && (!best || key.size() >= best_length)) {
      best = &entry, best_length = key.size();
    }
  }
  if (!best) return {};
  if (!best->has_marks || !node.IsDefined()) return {best->origin, 0, 0};
  return location_of(best->origin, node.Mark());
}

namespace {

struct Segment {
  std::string key;  // empty for a list index
  size_t index = 0;
};

std::vector<Segment> split_path(const std::string& path) {
  std::vector<Segment> segments;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '.') {
      ++i;
    } else if (path[i] == '[') {
      size_t close = path.find(']', i);
      segments.push_back({"", std::stoul(path.substr(i + 1, close - i - 1))});
      i = close + 1;
    } else {
      size_t end = path.find_first_of(".[", i);
      if (end == std::string::npos) end = path.size();
      segments.push_back({path.substr(i, end - i), 0});
      i = end;
    }
  }
  return segments;
}

bool is_number(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

bool is_key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

}  // namespace

Location Tree::locate(const std::string& path) const {
  YAML::Node node = root;
  for (const Segment& s : split_path(path)) {
    YAML::Node next =
        s.key.empty() ? (node.IsSequence() && s.index < node.size() ? node[s.index] : YAML::Node())
                      : (node.IsMap() ? node[s.key] : YAML::Node());
    if (!next || next.IsNull()) break;
    node.reset(next);
  }
  return origins->locate(path, node);
}

Override parse_override(const std::string& text, const std::string& origin) {
  Location where{origin + " " + text};
  size_t equals = text.find('=');
  if (equals == std::string::npos || equals == 0) {
    throw ConfigError(where, "", "key=value", "'" + text + "'");
  }
  std::string raw_key = text.substr(0, equals);
  std::string key;
  size_t start = 0;
  while (start <= raw_key.size()) {
    size_t dot = raw_key.find('.', start);
    if (dot == std::string::npos) dot = raw_key.size();
    std::string part = raw_key.substr(start, dot - start);
    bool valid = !part.empty();
    for (char c : part) valid = valid && is_key_char(c);
    if (!valid)
      throw ConfigError(where, raw_key, "a dotted key like train.optimizer.lr",
                        "'" + raw_key + "'");
    key = is_number(part) ? key + "[" + part + "]" : child_path(key, part);
    start = dot + 1;
  }
  return Override{key, text.substr(equals + 1), text, origin};
}

namespace {

void apply_override(YAML::Node root, const Override& o, Origins& origins) {
  Location where{o.where()};
  YAML::Node value = parse_yaml_text(o.value, where.file);
  if (o.value.empty()) {
    throw ConfigError(where, o.key, "a value after '='", "nothing");
  }
  std::vector<Segment> segments = split_path(o.key);
  YAML::Node node = root;
  std::string path;
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    const Segment& s = segments[i];
    YAML::Node next;
    if (s.key.empty()) {
      if (!node.IsSequence() || s.index >= node.size()) {
        throw ConfigError::plain(where, item_path(path, s.index), "no such list item");
      }
      next.reset(node[s.index]);
      path = item_path(path, s.index);
    } else {
      if (node.IsDefined() && !node.IsNull() && !node.IsMap()) {
        throw ConfigError::plain(where, path, "is not a mapping, so it has no key '" + s.key + "'");
      }
      path = child_path(path, s.key);
      if (!node[s.key] || node[s.key].IsNull()) {
        node[s.key] = YAML::Node(YAML::NodeType::Map);
        origins.set(path, where.file, false);  // the --set made it, so errors there name the --set
      }
      next.reset(node[s.key]);
    }
    node.reset(next);
  }
  const Segment& last = segments.back();
  if (last.key.empty()) {
    if (!node.IsSequence() || last.index >= node.size()) {
      throw ConfigError::plain(where, o.key, "no such list item");
    }
    node[last.index] = value;
  } else {
    if (!node.IsMap()) throw ConfigError::plain(where, path, "is not a mapping");
    node[last.key] = value;
  }
  origins.set(o.key, where.file, false);
}

fs::path relative_to(const std::string& file, const std::string& target) {
  fs::path p(target);
  return p.is_absolute() ? p : fs::path(file).parent_path() / p;
}

void overlay(YAML::Node target, const YAML::Node& source, const std::string& path,
             const std::string& file, Origins& origins);

// A variant gives values to its family's args; a name the family does not declare is a slip.
void check_variant_args(const YAML::Node& family, const YAML::Node& variant, const std::string& at,
                        const std::string& file) {
  const YAML::Node declared = family["args"], given = variant["args"];
  if (!declared || !declared.IsMap() || !given || !given.IsMap()) return;
  std::vector<std::string> names;
  for (const auto& a : declared) names.push_back(a.first.Scalar());
  for (const auto& a : given) {
    const std::string key = a.first.Scalar();
    if (declared[key]) continue;
    throw ConfigError(location_of(file, a.first.Mark()), child_path(child_path(at, "args"), key),
                      "one of the family's args (" + join(names) + ")", "'" + key + "'",
                      did_you_mean(key, names));
  }
}

YAML::Node load_model_file(const fs::path& path, Origins& origins, const std::string& at,
                           int depth);

// A model with `base: FILE` (a model file, or an experiment's inline model) is that model file with
// its own keys laid over it (its `args` merge key by key, a list such as `layers` replaces the
// base's): a family's variant gives its arguments this way. `file` is where `node` was written,
// `at` where the model sits in the tree ("model", or "" for a model file).
YAML::Node lay_over_base(YAML::Node node, const std::string& file, Origins& origins,
                         const std::string& at, int depth) {
  YAML::Node base_key = node["base"];
  const std::string key = child_path(at, "base");
  Location where = location_of(file, base_key.Mark());
  if (!base_key.IsScalar()) throw ConfigError(where, key, "a model file path", describe(base_key));
  if (depth >= 8)
    throw ConfigError::plain(where, key, "chain of base files is too deep (a cycle?)");
  YAML::Node result = load_model_file(relative_to(file, base_key.Scalar()), origins, at, depth + 1);
  if (!result.IsMap())
    throw ConfigError(where, key, "a model file (a mapping with 'layers')", describe(result));
  node.remove("base");
  check_variant_args(result, node, at, file);
  overlay(result, node, at, file, origins);
  return result;
}

YAML::Node load_model_file(const fs::path& path, Origins& origins, const std::string& at,
                           int depth) {
  const std::string file = path.string();
  YAML::Node node = parse_yaml_file(path);
  if (!node.IsMap() || !node["base"]) {
    origins.set(at, file, true);
    return node;
  }
  return lay_over_base(node, file, origins, at, depth);
}

// Replaces a `model: path` entry by the model file's tree; returns that file (an inline model's
// base file), or "".
std::string inline_model(YAML::Node root, const std::string& file, Origins& origins) {
  // An inline model with `base:` is that model file with the experiment's keys over it (its
  // weights, its arguments).
  if (root["model"] && root["model"].IsMap() && root["model"]["base"]) {
    const std::string base = root["model"]["base"].IsScalar() ? root["model"]["base"].Scalar() : "";
    root["model"] = lay_over_base(root["model"], file, origins, "model", 0);
    return relative_to(file, base).lexically_normal().string();
  }
  if (!root["model"] || !root["model"].IsScalar()) return {};
  std::string model_file = relative_to(file, root["model"].Scalar()).lexically_normal().string();
  root["model"] = load_model_file(model_file, origins, "model", 0);
  return model_file;
}

void overlay(YAML::Node target, const YAML::Node& source, const std::string& path,
             const std::string& file, Origins& origins) {
  for (const auto& entry : source) {
    std::string key = entry.first.Scalar();
    if (path.empty() && key == "base") continue;
    std::string at = child_path(path, key);
    // A model is one piece: an experiment that names one replaces its base's whole.
    bool merge = !(path.empty() && key == "model");
    if (merge && entry.second.IsMap() && target[key] && target[key].IsMap()) {
      overlay(target[key], entry.second, at, file, origins);
    } else {
      target[key] = entry.second;
      origins.set(at, file, true);
    }
  }
}

YAML::Node load_base(const std::string& file, const YAML::Node& base_key, Origins& origins,
                     int depth);

YAML::Node load_layered(const fs::path& path, Origins& origins, int depth) {
  const std::string file = path.string();
  YAML::Node node = parse_yaml_file(path);
  if (!node.IsMap()) {
    throw ConfigError({file, node.IsDefined() ? node.Mark().line + 1 : 0, 1}, "",
                      "a mapping of keys (name, model, data, train)",
                      node.IsNull() ? "an empty file" : describe(node));
  }
  // The model file's own origins (its base files') are recorded after this file's.
  Origins model_origins;
  std::string model_file = inline_model(node, file, model_origins);
  YAML::Node base_key = node["base"];
  YAML::Node result;
  if (!base_key) {
    origins.set("", file, true);
    result.reset(node);
  } else {
    result.reset(load_base(file, base_key, origins, depth));
    overlay(result, node, "", file, origins);
  }
  if (!model_file.empty()) origins.merge(model_origins);
  return result;
}

YAML::Node load_base(const std::string& file, const YAML::Node& base_key, Origins& origins,
                     int depth) {
  Location where = location_of(file, base_key.Mark());
  if (!base_key.IsScalar()) throw ConfigError(where, "base", "a file path", "something else");
  if (depth >= 8)
    throw ConfigError::plain(where, "base", "chain of base files is too deep (a cycle?)");
  return load_layered(relative_to(file, base_key.Scalar()), origins, depth + 1);
}

}  // namespace

Tree load_experiment_tree(const fs::path& path, const std::vector<Override>& overrides) {
  Tree tree{YAML::Node(), std::make_shared<Origins>()};
  tree.root = load_layered(path, *tree.origins, 0);
  for (const auto& o : overrides) apply_override(tree.root, o, *tree.origins);
  return tree;
}

bool is_model_file(const fs::path& path) {
  fs::path file = path;
  for (int depth = 0; depth < 8; ++depth) {
    const YAML::Node node = parse_yaml_file(file);
    if (!node.IsMap() || node["model"]) return false;
    if (node["layers"]) return true;
    if (!node["base"] || !node["base"].IsScalar()) return false;
    file = relative_to(file.string(), node["base"].Scalar());
  }
  return false;
}

Tree load_model_tree(const fs::path& path, const std::vector<Override>& overrides) {
  Tree tree{YAML::Node(), std::make_shared<Origins>()};
  tree.root = load_model_file(path, *tree.origins, "", 0);
  if (!tree.root.IsMap()) {
    throw ConfigError({path.string()}, "", "a mapping with 'layers'", "something else");
  }
  for (const auto& o : overrides) apply_override(tree.root, o, *tree.origins);
  return tree;
}

}  // namespace dlx::config
