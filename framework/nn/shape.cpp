#include "framework/nn/shape.h"

namespace dlx::nn {

std::string format_shape(const Shape& shape, int64_t batch) {
  std::string out = "(" + std::to_string(batch);
  for (int64_t d : shape) out += ", " + std::to_string(d);
  return out + ")";
}

int64_t numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace dlx::nn
