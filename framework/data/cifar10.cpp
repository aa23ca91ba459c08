#include "framework/data/cifar10.h"
#include "framework/data/registry.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>

#include <fstream>

#include "framework/core/error.h"
#include "framework/core/files.h"

namespace dlx::data {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kSide = 32, kImageBytes = 3 * kSide * kSide, kRecordBytes = 1 + kImageBytes;

std::vector<std::string> class_names(const fs::path& root) {
  static const std::vector<std::string> official{
      "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  const fs::path meta = root / "batches.meta.txt";
  if (!fs::exists(meta)) return official;
  std::vector<std::string> names;
  std::ifstream in(meta);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  if (names.size() != 10)
    throw RuntimeError(meta.string() + ": expected 10 class names, one a line, found " +
                       std::to_string(names.size()));
  return names;
}

}  // namespace

const std::vector<std::string>& cifar10_files() {
  static const std::vector<std::string> files{"data_batch_1.bin", "data_batch_2.bin",
                                              "data_batch_3.bin", "data_batch_4.bin",
                                              "data_batch_5.bin", "test_batch.bin"};
  return files;
}

Split read_cifar10_batch(const fs::path& file) {
  const std::string bytes = read_file(file);
  if (bytes.empty() || bytes.size() % kRecordBytes != 0) {
    throw RuntimeError(file.string() + ": " + std::to_string(bytes.size()) +
                       " bytes is not a whole number of CIFAR-10 records (" +
                       std::to_string(kRecordBytes) + " bytes each)");
  }
  const int64_t n = int64_t(bytes.size()) / kRecordBytes;
  at::Tensor records = at::from_blob(const_cast<char*>(bytes.data()), {n, kRecordBytes}, at::kByte);
  at::Tensor labels = records.select(1, 0).to(at::kLong);
  if (labels.max().item<int64_t>() > 9) {
    const int64_t at = labels.gt(9).nonzero()[0][0].item<int64_t>();
    throw RuntimeError(file.string() + ": record " + std::to_string(at) + " has label " +
                       std::to_string(labels[at].item<int64_t>()) + " (expected 0..9)");
  }
  at::Tensor images = records.narrow(1, 1, kImageBytes).reshape({n, 3, kSide, kSide}).clone();
  return Split{images, labels};
}

Dataset read_cifar10(const fs::path& root) {
  std::vector<at::Tensor> images, labels;
  Dataset d;
  d.name = "cifar10";
  d.source = root.string();
  d.class_names = class_names(root);
  for (const auto& name : cifar10_files()) {
    if (name == "test_batch.bin") continue;
    Split part = read_cifar10_batch(root / name);
    images.push_back(part.images), labels.push_back(part.labels);
  }
  d.train = Split{at::cat(images), at::cat(labels)};
  d.test = read_cifar10_batch(root / "test_batch.bin");
  return d;
}

void write_cifar10_batch(const fs::path& file, const Split& split) {
  const int64_t n = split.size();
  at::Tensor records = at::empty({n, kRecordBytes}, at::kByte);
  records.select(1, 0).copy_(split.labels.to(at::kByte));
  records.narrow(1, 1, kImageBytes).copy_(split.images.reshape({n, kImageBytes}));
  write_file_atomic(
      file, std::string(static_cast<const char*>(records.data_ptr()), size_t(n * kRecordBytes)));
}

DatasetEntry cifar10_dataset() {
  static const DataFolder folder{
      "data_batch_1.bin",
      "data_batch_1.bin (CIFAR-10's binary version: data_batch_1.bin .. data_batch_5.bin, "
      "test_batch.bin and batches.meta.txt)"};
  return {"cifar10",
          "32x32 colour images, 10 classes (the official binary version's .bin files)",
          {"data.root"},
          [](const config::DataSpec&) {
            return StoredGeometry{3, kSide, kSide, 10};
          },
          [](const config::DataSpec& spec) { return read_cifar10(find_data_root(spec, folder)); },
          {},
          {}};
}

}  // namespace dlx::data
