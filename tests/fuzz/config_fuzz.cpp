// Feeds arbitrary bytes to the experiment loader as a YAML file (its sweep: section expanded into
// points too), and to the --set parser and the sweep's --set values (Hydra's sweep functions).
// Anything but success or a ConfigError (a crash, another exception, a sanitizer report) is a bug.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "framework/config/arithmetic.h"
#include "framework/config/experiment.h"
#include "framework/config/sweep_points.h"
#include "framework/config/sweep_search.h"

namespace {
std::filesystem::path scratch_file() {
  std::string pattern = (std::filesystem::temp_directory_path() / "dlx-fuzz-XXXXXX").string();
  if (!mkdtemp(pattern.data())) abort();
  return std::filesystem::path(pattern) / "experiment.yaml";
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path file = scratch_file();
  std::string text(reinterpret_cast<const char*>(data), size);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
  try {
    dlx::config::ExperimentSpec spec = dlx::config::load_experiment(file);
    dlx::config::config_identity(dlx::config::resolved_json(spec));
    dlx::sweep::expand({file}, {});
  } catch (const dlx::ConfigError&) {
  }
  try {
    dlx::sweep::parse_cli_values("k", text, "k=" + text);
  } catch (const dlx::ConfigError&) {
  }
  try {
    dlx::config::parse_override(text);
  } catch (const dlx::ConfigError&) {
  }
  // A model's ${...} arithmetic: a value or an error message, nothing else.
  static const std::map<std::string, YAML::Node> values{
      {"a", YAML::Node("2")}, {"b", YAML::Node("0.5")}, {"s", YAML::Node("text")}};
  const auto result = dlx::config::evaluate(text, values);
  if (result.error.empty() && !std::isfinite(result.value)) abort();
  return 0;
}
