// A user's YAML tree and where each part of it came from. Files are read, `base:` files merged
// under them, `model:` paths inlined and `--set` overrides applied before any typed reading,
// so a reader only sees one tree, and every error can still name the file (or --set) it came from.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "framework/core/error.h"

namespace dlx::config {

/// One `--set key=value`: the key in dotted form, the value as YAML text.
struct Override {
  std::string key;               // normalised: "model.layers[0].conv2d.out_channels"
  std::string value;             // "0.01", "[1, 2]", "{type: adam}"
  std::string text;              // as the user typed it, for messages
  std::string origin = "--set";  // or "sweep": where messages say it came from

  std::string where() const { return origin + " " + text; }
};

/// Parses "a.b=c" (also "a.0.b=c" for list items). A malformed one is a ConfigError.
Override parse_override(const std::string& text, const std::string& origin = "--set");

/// Which file (or --set) each subtree of a merged tree came from.
class Origins {
 public:
  /// Everything at or under `path` came from `origin` ("experiments/a.yaml" or "--set k=v").
  void set(const std::string& path, std::string origin, bool has_marks);
  /// Sets each of `other`'s paths, parents before children.
  void merge(const Origins& other);
  /// The location of `node`, found at dotted `path`.
  Location locate(const std::string& path, const YAML::Node& node) const;

 private:
  struct Entry {
    std::string origin;
    bool has_marks;
  };
  std::map<std::string, Entry> by_path_;
};

/// A tree ready for typed reading.
struct Tree {
  YAML::Node root;
  std::shared_ptr<Origins> origins;

  /// The location of the node at dotted `path` (or of its nearest existing ancestor).
  Location locate(const std::string& path) const;
};

/// Parses one YAML file. Syntax errors and unreadable files are ConfigErrors naming the file.
YAML::Node parse_yaml_file(const std::filesystem::path& path);

/// Parses YAML text that came from somewhere other than a file (`origin` names it in errors).
YAML::Node parse_yaml_text(const std::string& text, const std::string& origin);

/// Loads an experiment file: merges `base:` files beneath it, inlines a `model:` path (relative to
/// the file that names it) and applies the overrides, in that order.
Tree load_experiment_tree(const std::filesystem::path& path,
                          const std::vector<Override>& overrides = {});

/// Whether `path` is a model file: it lists layers, or it is a `base:` chain down to one (a
/// family's variant) and names no model.
bool is_model_file(const std::filesystem::path& path);

/// Loads a model file on its own (for `dlx shapes models/x.yaml`), applying the overrides.
Tree load_model_tree(const std::filesystem::path& path,
                     const std::vector<Override>& overrides = {});

/// Joins a parent path and a key: ("train", "epochs") -> "train.epochs".
std::string child_path(const std::string& parent, const std::string& key);
/// ("model.layers", 2) -> "model.layers[2]".
std::string item_path(const std::string& parent, size_t index);

}  // namespace dlx::config
