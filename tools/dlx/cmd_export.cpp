// `dlx export RUN FILE.onnx`: the run's network and weights as an ONNX model (framework/export).
#include <fmt/format.h>

#include <iostream>

#include "framework/core/error.h"
#include "tools/dlx/commands.h"
#ifdef DLX_ONNX
#include "framework/export/onnx.h"
#endif

namespace dlx::tools {

namespace {

#ifdef DLX_ONNX
int export_onnx(const std::string& folder, const std::string& file, const std::string& weights,
                const std::string& batch, onnx_export::RunExportOptions options) {
  static const std::map<std::string, onnx_export::Weights> by_name{
      {"kept", onnx_export::Weights::kKept},
      {"best", onnx_export::Weights::kBest},
      {"last", onnx_export::Weights::kLast},
      {"ema", onnx_export::Weights::kEma}};
  const auto w = by_name.find(weights);
  if (w == by_name.end())
    throw ConfigError({"--weights"}, "", "best, last, kept or ema", "'" + weights + "'",
                      did_you_mean(weights, {"best", "last", "kept", "ema"}));
  options.weights = w->second;
  if (batch != "dynamic") {
    try {
      size_t used = 0;
      options.batch = std::stoll(batch, &used);
      if (used != batch.size()) throw std::invalid_argument(batch);
    } catch (const std::logic_error&) {
      throw ConfigError({"--batch"}, "", "a batch size >= 1, or dynamic", "'" + batch + "'");
    }
  }
  const auto s = onnx_export::export_run(folder, file, options);
  std::cout << fmt::format(
      "wrote {} ({:.1f} MiB, {} nodes, opset {}) from {} of a {} run; ONNX's checker accepts it\n",
      file, double(s.bytes) / (1024.0 * 1024.0), s.nodes, options.opset, s.checkpoint.string(),
      s.status);
  return 0;
}
#endif

}  // namespace

void add_export_command(CLI::App& app, Command& chosen) {
  auto folder = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  auto weights = std::make_shared<std::string>("kept");
  auto batch = std::make_shared<std::string>("dynamic");
  auto opset = std::make_shared<int64_t>(13);
  auto probabilities = std::make_shared<bool>(false);
  auto force = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "export", "write a run's network and weights as an ONNX model (docs/export.md)");
  cmd->add_option("RUN", *folder, "the run folder")->required();
  cmd->add_option("FILE", *file, "the .onnx file to write")->required();
  cmd->add_option("--opset", *opset, "ONNX operator set, 11 to 17 (default 13)");
  cmd->add_option("--weights", *weights,
                  "best (checkpoint_best.pt), last (checkpoint.pt), ema (checkpoint_ema.pt, "
                  "train.ema's average), or kept (default: best when the run kept one, else "
                  "last)");
  cmd->add_option("--batch", *batch, "a fixed batch size, or dynamic (default)");
  cmd->add_flag("--probabilities", *probabilities,
                "a second output, \"probabilities\": the softmax of the logits");
  cmd->add_flag("--force", *force, "export a failed or diverged run's weights too");
  cmd->callback([=, &chosen] {
    chosen = [=]() -> int {
#ifdef DLX_ONNX
      onnx_export::RunExportOptions options;
      options.opset = *opset;
      options.probabilities = *probabilities;
      options.force = *force;
      return export_onnx(*folder, *file, *weights, *batch, options);
#else
      throw RuntimeError("this dlx was built without ONNX export (configured with DLX_ONNX=OFF)");
#endif
    };
  });
}

}  // namespace dlx::tools
