// MNIST: LeCun's handwritten digits, in their own IDX layout.
#include "framework/data/idx.h"
#include "framework/data/registry.h"

namespace dlx::data {

DatasetEntry mnist_dataset() {
  static const std::vector<std::string> classes{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  return {"mnist",
          "handwritten digits, 28x28 gray, 10 classes (IDX files)",
          {"data.root"},
          [](const config::DataSpec&) { return StoredGeometry{1, 28, 28, 10}; },
          [](const config::DataSpec& spec) { return read_idx_dataset(spec, classes); },
          {},
          {}};
}

}  // namespace dlx::data
