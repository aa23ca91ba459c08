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

class Blocks {
 public:
  explicit Blocks(const config::ModelSpec& spec, std::shared_ptr<const config::Origins> origins)
      : spec_(spec), origins_(std::move(origins)) {}

  bool has(const std::string& type) const;
  std::vector<std::string> names() const;

  /// The layers list of block `use.type` with the use's arguments (read from `args`, which then
  /// rejects unknown keys) put in for each $name, and the list's path in the model file. A block
  /// among `active` (being expanded) uses itself: a ConfigError naming the cycle.
  std::pair<YAML::Node, std::string> expand(const config::LayerSpec& use, config::Reader& args,
                                            const std::vector<std::string>& active);

  /// Where `node` was written: a node made by putting values in has no place in the file of its
  /// own, so the block's node it was made from gives it.
  Location locate(const std::string& path, const YAML::Node& node) const;

 private:
  std::map<std::string, YAML::Node> values(const config::LayerSpec& use, const YAML::Node& declared,
                                           const std::string& def_path,
                                           std::vector<std::string>& known) const;
  YAML::Node substitute(const YAML::Node& node, const std::map<std::string, YAML::Node>& values,
                        const std::string& path);

  const config::ModelSpec& spec_;
  std::shared_ptr<const config::Origins> origins_;
  std::vector<std::pair<YAML::Node, YAML::Node>> made_from_;  // (made node, the block's node)
};

}  // namespace dlx::nn
