#include "framework/data/registry.h"

#include "framework/core/error.h"

namespace dlx::data {

// Each defined in the dataset's own file.
DatasetEntry fashion_mnist_dataset();
DatasetEntry mnist_dataset();
DatasetEntry cifar10_dataset();
DatasetEntry folder_dataset();
DatasetEntry synthetic_dataset();

const std::vector<DatasetEntry>& builtin_datasets() {
  static const std::vector<DatasetEntry> table{fashion_mnist_dataset(), mnist_dataset(),
                                               cifar10_dataset(), folder_dataset(),
                                               synthetic_dataset()};
  return table;
}

const DatasetEntry& dataset_entry(const config::DataSpec& spec) {
  std::vector<std::string> names;
  for (const auto& entry : builtin_datasets()) {
    if (entry.name == spec.dataset) return entry;
    names.push_back(entry.name);
  }
  throw ConfigError(spec.locate("data.dataset"), "data.dataset", "one of " + join(names),
                    "'" + spec.dataset + "'", did_you_mean(spec.dataset, names));
}

}  // namespace dlx::data
