// A model's `blocks:`: named lists of layers with `$name` arguments, used like layer types. The
// builder asks for a use's layers; this file checks the block's definition and the use's
// arguments and puts the values in. Internal to the nn floor.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "framework/config/experiment.h"

namespace dlx::nn {

/// A block's layers with its use's values put in.
struct Expansion {
  YAML::Node layers;
  std::string path;       // of the block's layers list in the model file
  bool numbered = false;  // children named by position, as nn.Sequential's
};

/// Names and their values, put in for `$name` (the whole scalar: any node) and `${expr}` (inside a
/// scalar: arithmetic on numbers, + - * / // % and parentheses).
using Values = std::map<std::string, YAML::Node>;

class Blocks {
 public:
  explicit Blocks(const config::ModelSpec& spec, std::shared_ptr<const config::Origins> origins)
      : spec_(spec), origins_(std::move(origins)) {}

  bool has(const std::string& type) const;
  std::vector<std::string> names() const;

  /// The layers list of block `use.type` with the use's arguments (read from `args`, which then
  /// rejects unknown keys) put in for each $name. A block among `active` (being expanded) uses
  /// itself: a ConfigError naming the cycle.
  Expansion expand(const config::LayerSpec& use, config::Reader& args,
                   const std::vector<std::string>& active);

  /// The model's own `args:` (a value for each, none `required`).
  Values model_values() const;

  /// A copy of `node` (at `path`) with `values` put in. Names a `repeat: {index: i}` inside binds
  /// are left for that repeat; any other unknown name is a ConfigError.
  /// `owner` ("block", "model", "repeat") says whose args they are in messages.
  YAML::Node substitute(const YAML::Node& node, const Values& values, const std::string& path,
                        const std::string& owner);

  /// Where `node` was written: a node made by putting values in has no place in the file of its
  /// own, so the block's node it was made from gives it.
  Location locate(const std::string& path, const YAML::Node& node) const;

 private:
  Values values(const config::LayerSpec& use, const YAML::Node& declared,
                const std::string& def_path, std::vector<std::string>& known) const;
  YAML::Node put_in(const YAML::Node& node, const Values& values, const std::string& path,
                    const std::vector<std::string>& bound);
  std::string put_in_text(const YAML::Node& node, const std::string& text, const Values& values,
                          const std::string& path, const std::vector<std::string>& bound);

  const config::ModelSpec& spec_;
  std::shared_ptr<const config::Origins> origins_;
  std::string owner_;
  std::vector<std::pair<YAML::Node, YAML::Node>> made_from_;  // (made node, the block's node)
};

}  // namespace dlx::nn
