// Feeds arbitrary bytes to the experiment loader as a YAML file (its sweep: section expanded into
// points too), to the --set parser and the sweep's --set values (Hydra's sweep functions), and to
// the reader of torch.save files (model.weights). Anything but success, a ConfigError or a
// TorchFileError (a crash, another exception, a sanitizer report) is a bug.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "framework/config/arithmetic.h"
#include "framework/config/experiment.h"
#include "framework/config/sweep_points.h"
#include "framework/config/sweep_search.h"
#include "framework/core/torch_file.h"

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
  try {
    const dlx::TorchFile weights = dlx::read_torch_file(text);
    // Every tensor it describes lies inside the file: read each one's first and last element
    // (each value once: a hostile file may share one container many times over).
    std::vector<const dlx::TorchValue*> open{&weights.root};
    std::set<const dlx::TorchValue*> seen;
    volatile char sink = 0;
    while (!open.empty()) {
      const dlx::TorchValue* v = open.back();
      open.pop_back();
      if (!seen.insert(v).second) continue;
      for (const auto& item : v->items) open.push_back(item.get());
      const dlx::TorchTensor& t = v->tensor;
      if (v->kind != dlx::TorchValue::Kind::kTensor || t.numel() == 0) continue;
      int64_t last = 0;
      for (size_t i = 0; i < t.sizes.size(); ++i) last += (t.sizes[i] - 1) * t.strides[i];
      const int64_t itemsize = weights.storages[size_t(t.storage)].dtype.itemsize;
      sink = *weights.data(t);
      sink = *(weights.data(t) + last * itemsize + itemsize - 1);
    }
    (void)sink;
  } catch (const dlx::TorchFileError&) {
  }
  // A model's ${...} arithmetic: a value or an error message, nothing else.
  static const std::map<std::string, YAML::Node> values{
      {"a", YAML::Node("2")}, {"b", YAML::Node("0.5")}, {"s", YAML::Node("text")}};
  const auto result = dlx::config::evaluate(text, values);
  if (result.error.empty() && !std::isfinite(result.value)) abort();
  return 0;
}
