// `dlx layers`: the layer registry, with each layer's keys, defaults and comments.
#include <fmt/format.h>

#include <iostream>

#include "framework/nn/layer_registry.h"
#include "tools/dlx/commands.h"

namespace dlx::tools {

void add_layers_command(CLI::App& app, Command& chosen) {
  CLI::App* cmd =
      app.add_subcommand("layers", "list the layer types a model file may use, with their keys");
  cmd->callback([&chosen] {
    chosen = [] {
      for (const auto& type : nn::builtin_layers().types()) {
        std::cout << fmt::format("{}  (named {}0, {}1, ...)  {}\n", type.type, type.prefix,
                                 type.prefix, type.summary);
        for (const auto& key : type.keys()) {
          std::cout << fmt::format("    {:<20} {:<12} {}\n", key.key, key.default_value, key.help);
        }
        std::cout << fmt::format("    {:<20} {:<12} {}\n", "name", "\"\"",
                                 "overrides the generated name (the checkpoint key)");
      }
      return 0;
    };
  });
}

}  // namespace dlx::tools
