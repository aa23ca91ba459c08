// Fashion-MNIST: Zalando's clothing images, in MNIST's IDX layout (Debian's dataset-fashion-mnist).
#include "framework/data/idx.h"

namespace dlx::data {

DatasetEntry fashion_mnist_dataset() {
  return idx_dataset("fashion-mnist",
                     "Zalando's 28x28 gray clothing images, 10 classes (IDX files)",
                     {"t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                      "sneaker", "bag", "ankle boot"});
}

}  // namespace dlx::data
