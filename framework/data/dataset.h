// Datasets held whole in memory as uint8 tensors (Fashion-MNIST is 47 MB), loaded from IDX files
// or generated. Batching, scaling and resizing happen later, per batch (see batches.h).
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>
#include <vector>

#include "framework/config/experiment.h"

namespace dlx::data {

struct Split {
  at::Tensor images;  // uint8 [N, C, H, W]
  at::Tensor labels;  // int64 [N]
  int64_t size() const { return labels.size(0); }
};

struct Dataset {
  std::string name;
  std::string source;  // the folder it was read from, or "generated"
  Split train;
  Split val;  // held out of the training set (data.val_split); empty tensors when none
  Split test;
  std::vector<std::string> class_names;
  int64_t classes() const { return static_cast<int64_t>(class_names.size()); }
  bool has_validation() const { return val.labels.defined() && val.size() > 0; }
};

/// The folder holding `dataset`'s IDX files: data.root, then $DLX_DATA/<dataset>, then
/// /usr/share/datasets/<dataset>. None found is a RuntimeError listing where it looked.
std::filesystem::path find_data_root(const config::DataSpec& spec);

/// Loads (or generates) the dataset, applying train_limit and test_limit, then holds out
/// data.val_split of the training set for validation (drawn with `seed`).
Dataset load_dataset(const config::DataSpec& spec, uint64_t seed = 0);

/// Moves `share` of each class's examples out of `train` into the returned validation split,
/// drawn with `seed`; both keep the stored order. Every class with two or more examples gives
/// at least one.
Split hold_out(Split& train, double share, uint64_t seed);

/// A deterministic dataset: each class a random template, each example its template plus noise.
Dataset make_synthetic(const config::SyntheticSpec& spec);

/// Reads one split (images and labels files) of an IDX dataset, checking that they agree.
Split read_idx_split(const std::filesystem::path& images, const std::filesystem::path& labels,
                     int64_t classes);

}  // namespace dlx::data
