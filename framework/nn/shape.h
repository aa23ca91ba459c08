// The shape of one example as it flows through a network: batch excluded, e.g. {96, 54, 54}.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dlx::nn {

using Shape = std::vector<int64_t>;

/// "(1, 96, 54, 54)": the shape with a batch dimension in front, as the d2l chapter prints it.
std::string format_shape(const Shape& shape, int64_t batch = 1);

/// Elements in one example.
int64_t numel(const Shape& shape);

}  // namespace dlx::nn
