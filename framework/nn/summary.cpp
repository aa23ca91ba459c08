// The per-layer table of `dlx shapes`: the d2l chapter's shape lines, then parameters,
// multiply-adds and activation memory.
#include <fmt/format.h>

#include "framework/nn/builder.h"

namespace dlx::nn {

namespace {

std::string grouped(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string human_bytes(int64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024.0));
}

}  // namespace

std::string shapes_table(const Network& net) {
  std::string out;
  for (const auto& l : net.layers)
    if (l.depth == 0) out += l.name + " output shape:\t " + format_shape(l.output) + "\n";
  out += "\n";
  size_t width = 12;
  for (const auto& l : net.layers) width = std::max(width, l.name.size() + 2 * size_t(l.depth));
  const std::string row = "{:<" + std::to_string(width) + "} {:<20} {:<20} {:>14} {:>16} {:>12}\n";
  out += fmt::format(fmt::runtime(row), "layer", "type", "output shape", "parameters",
                     "multiply-adds", "activations");
  int64_t activation_bytes = 0;
  for (const auto& l : net.layers) {
    int64_t bytes = numel(l.output) * 4;  // float32, batch 1
    if (!l.group) activation_bytes += bytes;
    out += fmt::format(fmt::runtime(row), std::string(size_t(2 * l.depth), ' ') + l.name, l.type,
                       format_shape(l.output), grouped(l.parameters), grouped(l.macs),
                       human_bytes(bytes));
  }
  out += fmt::format(fmt::runtime(row), "total", "", "input " + format_shape(net.input),
                     grouped(net.parameters()), grouped(net.macs()), human_bytes(activation_bytes));
  out += fmt::format("parameter memory: {} (float32); activations are per example, forward only\n",
                     human_bytes(net.parameters() * 4));
  return out;
}

}  // namespace dlx::nn
