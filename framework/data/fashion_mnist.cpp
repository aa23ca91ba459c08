// Fashion-MNIST: Zalando's clothing images, in MNIST's IDX layout (Debian's dataset-fashion-mnist).
#include "framework/data/idx.h"
#include "framework/data/registry.h"

namespace dlx::data {

DatasetEntry fashion_mnist_dataset() {
  static const std::vector<std::string> classes{"t-shirt", "trouser", "pullover", "dress", "coat",
                                                "sandal",  "shirt",   "sneaker",  "bag",   "ankle boot"};
  return {"fashion-mnist",
          "Zalando's 28x28 gray clothing images, 10 classes (IDX files)",
          {"data.root"},
          [](const config::DataSpec&) { return StoredGeometry{1, 28, 28, 10}; },
          [](const config::DataSpec& spec) { return read_idx_dataset(spec, classes); },
          {},
          {}};
}

}  // namespace dlx::data
