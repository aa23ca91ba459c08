// Datasets held whole in memory as uint8 tensors (Fashion-MNIST is 47 MB), loaded from IDX files
// or generated. Batching, scaling and resizing happen later, per batch (see batches.h).
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "framework/config/experiment.h"

namespace dlx::data {

/// Image files decoded again for each batch (a folder dataset with data.cache: none).
struct ImageFiles {
  std::vector<std::string> paths;
  int64_t channels = 0;
  config::Size2 size;  // what every image becomes (resized when it differs)
  /// uint8 [B, C, H, W] of the files at `index`, decoded on a pool of threads.
  at::Tensor decode(const at::Tensor& index) const;
};

struct Split {
  Split() = default;
  Split(at::Tensor images_, at::Tensor labels_, std::shared_ptr<const ImageFiles> files_ = {})
      : images(std::move(images_)), labels(std::move(labels_)), files(std::move(files_)) {}
  at::Tensor images;  // uint8 [N, C, H, W]; undefined when `files` holds the images
  at::Tensor labels;  // int64 [N]
  std::shared_ptr<const ImageFiles> files;  // data.cache: none
  int64_t size() const { return labels.size(0); }
  /// uint8 [B, C, H, W] of the examples at `index` (int64), on the CPU.
  at::Tensor images_at(const at::Tensor& index) const;
  /// The examples at `index`, in that order.
  Split select(const at::Tensor& index) const;
};

/// Per-channel statistics of pixels scaled to [0, 1]; empty when data.normalize is none.
struct Normalization {
  std::vector<double> mean, std;
  bool empty() const { return mean.empty(); }
};

struct Dataset {
  std::string name;
  std::string source;  // the folder it was read from, or "generated"
  Split train;
  Split val;  // held out of the training set (data.val_split); empty tensors when none
  Split test;
  std::vector<std::string> class_names;
  std::string cache = "memory";      // where the decoded images live: memory or none (files)
  int64_t cache_bytes = 0;           // of decoded images held in memory
  std::vector<std::string> skipped;  // files that did not decode (data.skip_bad)
  Normalization normalize;           // what batches are normalised with
  int64_t classes() const { return static_cast<int64_t>(class_names.size()); }
  /// [height, width] of the images as stored (before any per-batch resize).
  std::vector<int64_t> image_size() const;
  bool has_validation() const { return val.labels.defined() && val.size() > 0; }
};

/// What marks a dataset's folder: a file it must hold (plain or with .gz), and how messages
/// describe what the folder should hold.
struct DataFolder {
  std::string marker;  // "train-images-idx3-ubyte"
  std::string shown;   // "train-images-idx3-ubyte[.gz]"
};

/// The folder holding the dataset's files: data.root, then $DLX_DATA/<dataset>, then
/// /usr/share/datasets/<dataset>. None found is a RuntimeError listing where it looked.
std::filesystem::path find_data_root(const config::DataSpec& spec, const DataFolder& folder);

/// What the network sees of a dataset: one example's shape (after resize and augmentation) and
/// the classes. A folder dataset's images decide what its config leaves open, so they are looked
/// at (the first image's header); other datasets' come from the config alone. An augmentation
/// that does not fit the images, or a normalisation with another count of channels, is a
/// ConfigError at its key.
struct Geometry {
  std::vector<int64_t> input;
  int64_t classes = 0;
  bool images_decided = false;  // the images, not the config alone, gave part of the shape
};
Geometry geometry(const config::DataSpec& spec);

/// The checks of a data section that need the dataset's registry entry: its name, its own
/// requirements (a folder dataset's root), and a validation split given twice. ConfigErrors.
void check_data(const config::DataSpec& spec);

/// Whether runs of this data have a validation split: data.val_split, or the dataset's own (a
/// folder dataset's val/).
bool has_validation(const config::DataSpec& spec);

/// Loads (or generates) the dataset, applying train_limit and test_limit, then holds out
/// data.val_split of the training set for validation (drawn with `seed`).
Dataset load_dataset(const config::DataSpec& spec, uint64_t seed = 0);

/// The mean and (population) std of each channel over a split's pixels, scaled to [0, 1].
Normalization channel_statistics(const Split& split);

/// Moves `share` of each class's examples out of `train` into the returned validation split,
/// drawn with `seed`; both keep the stored order. Every class with two or more examples gives
/// at least one.
Split hold_out(Split& train, double share, uint64_t seed);

/// A deterministic dataset: each class a random template, each example its template plus noise
/// (synthetic.cpp).
Dataset make_synthetic(const config::SyntheticSpec& spec);

}  // namespace dlx::data
