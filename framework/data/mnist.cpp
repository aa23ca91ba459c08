// MNIST: LeCun's handwritten digits, in their own IDX layout.
#include "framework/data/idx.h"

namespace dlx::data {

DatasetEntry mnist_dataset() {
  return idx_dataset("mnist", "handwritten digits, 28x28 gray, 10 classes (IDX files)",
                     {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
}

}  // namespace dlx::data
