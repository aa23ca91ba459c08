// The table of datasets that `data.dataset` may name. Each entry says what the dataset is, which
// data.* keys only it reads, the shape of its stored examples and its classes, and how to load it.
// Everything else about data (limits, validation split, resize, augmentation, normalisation)
// is common and lives in dataset.cpp and batches.cpp.
//
// How to add a dataset:
//   1. Write framework/data/<name>.cpp with a `DatasetEntry <name>_dataset()` that fills the entry
//      (name and help as users read them; `stored` gives the examples' shape before any resize,
//      `load` reads the splits; `validation_folder` and `check` only where the dataset needs them).
//   2. Add its one line to builtin_datasets() (registry.cpp), and the file to the data library in
//      framework/CMakeLists.txt.
//   3. Test it in tests/data/<name>_test.cpp, add its name to the registry test's list
//      (tests/data/registry_test.cpp), and regenerate docs/keys.md (`dlx keys --markdown`).
// There is no self-registration: the table is one list that main and the tests both read.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "framework/data/dataset.h"

namespace dlx::data {

/// The examples of a dataset as stored, before any resize or augmentation. A 0 is left for the
/// images to decide (a folder dataset's first image), which `stored` may look at.
struct StoredGeometry {
  int64_t channels = 0;
  int64_t height = 0, width = 0;
  int64_t classes = 0;
  bool from_files = false;  // read from the dataset's files rather than known in advance
};

struct DatasetEntry {
  std::string name;               // as data.dataset names it: "fashion-mnist"
  std::string help;               // one line for `dlx keys` and docs/keys.md
  std::vector<std::string> keys;  // the data.* keys that only this dataset reads
  /// The stored examples' shape and the classes; may read the dataset's files (a folder's).
  std::function<StoredGeometry(const config::DataSpec&)> stored;
  /// The whole dataset, before limits and the validation split.
  std::function<Dataset(const config::DataSpec&)> load;
  /// Whether the dataset brings its own validation split (a folder's val/); none by default.
  std::function<bool(const config::DataSpec&)> validation_folder;
  /// What the dataset requires of its keys (a folder's data.root), checked before any loading.
  std::function<std::optional<Problem>(const config::DataSpec&)> check;
};

/// Every built-in dataset, in the order help texts list them.
const std::vector<DatasetEntry>& builtin_datasets();

/// The entry `spec.dataset` names; an unknown name is a ConfigError at data.dataset listing the
/// known ones (with the closest).
const DatasetEntry& dataset_entry(const config::DataSpec& spec);

}  // namespace dlx::data
