// Reader for the IDX format that MNIST and Fashion-MNIST ship in, gzip-compressed or plain, and
// the dataset folder of such files that both use.
// Every way a file can be wrong (missing, not IDX, another element type, truncated, trailing
// bytes) is a RuntimeError naming the file and what was wrong.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>
#include <vector>

#include "framework/data/dataset.h"
#include "framework/data/registry.h"

namespace dlx::data {

/// Reads an unsigned-byte IDX file with `dims` dimensions into a uint8 tensor of its shape.
at::Tensor read_idx(const std::filesystem::path& path, int64_t dims);

/// Writes a uint8 tensor as an IDX file (plain, or gzip when `gzip`): for tests and tools.
void write_idx(const std::filesystem::path& path, const at::Tensor& data, bool gzip);

/// Reads one split (images and labels files) of an IDX dataset, checking that they agree.
Split read_idx_split(const std::filesystem::path& images, const std::filesystem::path& labels,
                     int64_t classes);

/// What marks an IDX dataset's folder (MNIST's layout).
const DataFolder& idx_folder();

/// An IDX dataset (MNIST's layout: train- and t10k- images and labels) from its folder.
Dataset read_idx_dataset(const config::DataSpec& spec, const std::vector<std::string>& classes);

/// The registry entry of a dataset in MNIST's IDX layout: 28x28 gray images of these classes.
DatasetEntry idx_dataset(std::string name, std::string help, std::vector<std::string> classes);

}  // namespace dlx::data
