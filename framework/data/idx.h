// Reader for the IDX format that MNIST and Fashion-MNIST ship in, gzip-compressed or plain.
// Every way a file can be wrong (missing, not IDX, another element type, truncated, trailing
// bytes) is a RuntimeError naming the file and what was wrong.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>

namespace dlx::data {

/// Reads an unsigned-byte IDX file with `dims` dimensions into a uint8 tensor of its shape.
at::Tensor read_idx(const std::filesystem::path& path, int64_t dims);

/// Writes a uint8 tensor as an IDX file (plain, or gzip when `gzip`): for tests and tools.
void write_idx(const std::filesystem::path& path, const at::Tensor& data, bool gzip);

}  // namespace dlx::data
