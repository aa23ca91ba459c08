#include "framework/data/idx.h"

#include <ATen/ops/empty.h>
#include <zlib.h>

#include <memory>

#include "framework/core/error.h"

namespace dlx::data {

namespace fs = std::filesystem;

namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw RuntimeError(path.string() + ": " + what);
}

// Reads exactly n bytes; returns how many were there (fewer at end of file).
size_t read_some(gzFile_s* f, const std::filesystem::path& path, void* into, size_t n) {
  size_t total = 0;
  auto* out = static_cast<char*>(into);
  while (total < n) {
    unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - total, 1u << 30));
    int got = gzread(f, out + total, chunk);
    if (got < 0) {
      int code = 0;
      fail(path, std::string("corrupt compressed data (") + gzerror(f, &code) + ")");
    }
    if (got == 0) break;
    total += static_cast<size_t>(got);
  }
  return total;
}

uint32_t big_endian(const unsigned char* b) {
  return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | uint32_t(b[3]);
}

}  // namespace

at::Tensor read_idx(const std::filesystem::path& path, int64_t dims) {
  // gzread reads plain files as they are, so one path serves .gz and uncompressed files.
  GzFile file(gzopen(path.c_str(), "rb"));
  if (!file) fail(path, "cannot open (missing or unreadable)");
  unsigned char magic[4];
  if (read_some(file.get(), path, magic, 4) < 4)
    fail(path, "not an IDX file (shorter than its header)");
  if (magic[0] != 0 || magic[1] != 0) fail(path, "not an IDX file (bad magic number)");
  if (magic[2] != 0x08)
    fail(path, "IDX element type " + std::to_string(magic[2]) + ", expected 8 (unsigned byte)");
  if (magic[3] != dims) {
    fail(path, "IDX file with " + std::to_string(magic[3]) + " dimensions, expected " +
                   std::to_string(dims));
  }
  std::vector<int64_t> shape(dims);
  int64_t count = 1;
  for (auto& d : shape) {
    unsigned char b[4];
    if (read_some(file.get(), path, b, 4) < 4) fail(path, "truncated in its header");
    d = big_endian(b);
    if (d <= 0 || d > (int64_t(1) << 31)) fail(path, "implausible dimension " + std::to_string(d));
    count *= d;
  }
  at::Tensor data = at::empty(shape, at::kByte);
  size_t got = read_some(file.get(), path, data.data_ptr<uint8_t>(), static_cast<size_t>(count));
  if (got < static_cast<size_t>(count)) {
    fail(path, "truncated: the header promises " + std::to_string(count) +
                   " bytes of data, found " + std::to_string(got));
  }
  char extra;
  if (read_some(file.get(), path, &extra, 1) != 0)
    fail(path, "longer than its header says (trailing data)");
  return data;
}

void write_idx(const std::filesystem::path& path, const at::Tensor& data, bool gzip) {
  GzFile file(gzopen(path.c_str(), gzip ? "wb" : "wbT"));  // T: write without compression
  if (!file) throw RuntimeError(path.string() + ": cannot create");
  at::Tensor bytes = data.contiguous();
  std::vector<unsigned char> header{0, 0, 0x08, static_cast<unsigned char>(bytes.dim())};
  for (int64_t d : bytes.sizes()) {
    for (int shift = 24; shift >= 0; shift -= 8)
      header.push_back(static_cast<unsigned char>(d >> shift));
  }
  bool ok = gzwrite(file.get(), header.data(), static_cast<unsigned>(header.size())) > 0;
  ok = ok &&
       gzwrite(file.get(), bytes.data_ptr<uint8_t>(), static_cast<unsigned>(bytes.numel())) > 0;
  if (!ok) throw RuntimeError(path.string() + ": cannot write");
}

Split read_idx_split(const fs::path& images_path, const fs::path& labels_path, int64_t classes) {
  at::Tensor images = read_idx(images_path, 3);
  at::Tensor labels = read_idx(labels_path, 1);
  if (images.size(0) != labels.size(0)) {
    throw RuntimeError(images_path.string() + " holds " + std::to_string(images.size(0)) +
                       " images but " + labels_path.string() + " holds " +
                       std::to_string(labels.size(0)) + " labels");
  }
  int64_t largest = labels.numel() ? labels.max().item<int64_t>() : 0;
  if (largest >= classes) {
    int64_t at = labels.ge(classes).nonzero()[0][0].item<int64_t>();
    throw RuntimeError(labels_path.string() + ": label " +
                       std::to_string(labels[at].item<int64_t>()) + " at index " +
                       std::to_string(at) + " is not a class (expected 0.." +
                       std::to_string(classes - 1) + ")");
  }
  return Split{images.unsqueeze(1), labels.to(at::kLong)};
}

const DataFolder& idx_folder() {
  static const DataFolder folder{"train-images-idx3-ubyte", "train-images-idx3-ubyte[.gz]"};
  return folder;
}

namespace {
// The file as shipped (gzip) or unpacked.
fs::path idx_file(const fs::path& root, const std::string& stem) {
  fs::path gz = root / (stem + ".gz");
  return fs::exists(gz) ? gz : root / stem;
}
}  // namespace

Dataset read_idx_dataset(const config::DataSpec& spec, const std::vector<std::string>& classes) {
  Dataset d;
  fs::path root = find_data_root(spec, idx_folder());
  d.name = spec.dataset;
  d.source = root.string();
  d.class_names = classes;
  d.train = read_idx_split(idx_file(root, "train-images-idx3-ubyte"),
                           idx_file(root, "train-labels-idx1-ubyte"), d.classes());
  d.test = read_idx_split(idx_file(root, "t10k-images-idx3-ubyte"),
                          idx_file(root, "t10k-labels-idx1-ubyte"), d.classes());
  return d;
}

DatasetEntry idx_dataset(std::string name, std::string help, std::vector<std::string> classes) {
  const int64_t count = int64_t(classes.size());
  return {std::move(name),
          std::move(help),
          {"data.root"},
          [count](const config::DataSpec&) {
            return StoredGeometry{1, 28, 28, count};
          },
          [classes = std::move(classes)](const config::DataSpec& spec) {
            return read_idx_dataset(spec, classes);
          },
          {},
          {}};
}

}  // namespace dlx::data
