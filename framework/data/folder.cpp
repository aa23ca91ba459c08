#include "framework/data/folder.h"

#include <ATen/ops/_upsample_bilinear2d_aa.h>
#include <ATen/ops/empty.h>
#include <fnmatch.h>

#include <algorithm>
#include <cstring>

#include "framework/core/error.h"
#include "framework/core/files.h"
#include "framework/core/parallel.h"
#include "framework/core/system.h"
#include "framework/data/batches.h"
#include "framework/data/image_io.h"
#include "framework/data/registry.h"

namespace dlx::data {

namespace {

namespace fs = std::filesystem;
using config::Size2;

enum Part { kTrain, kVal, kTest, kParts };

bool ignored(const fs::path& p, const std::vector<std::string>& patterns) {
  const std::string name = p.filename().string();
  if (!name.empty() && name[0] == '.') return true;
  for (const auto& pattern : patterns)
    if (fnmatch(pattern.c_str(), name.c_str(), 0) == 0) return true;
  return false;
}

// Byte order, as the sorted() of torchvision's ImageFolder.
std::vector<fs::path> sorted_entries(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// What `p` is, links followed. A link that leads nowhere or round in a circle is one clear line,
// where std::filesystem would throw "filesystem error: status: Too many levels of symbolic links".
fs::file_type followed_type(const fs::path& p) {
  std::error_code error;
  const fs::file_status status = fs::status(p, error);
  if (error == std::errc::too_many_symbolic_link_levels)
    throw RuntimeError(p.string() + ": a loop of symbolic links");
  if (error && fs::is_symlink(fs::symlink_status(p, error)))
    throw RuntimeError(p.string() + ": a symbolic link to nothing");
  if (error) throw RuntimeError(p.string() + ": cannot be read (" + error.message() + ")");
  return status.type();
}

std::vector<std::string> class_folders(const fs::path& dir, const config::DataSpec& spec) {
  if (!fs::is_directory(dir))
    throw RuntimeError(dir.string() +
                       ": no such folder (a folder dataset's data.root holds train/ and test/, "
                       "each with a folder per class)");
  std::vector<std::string> names;
  for (const auto& p : sorted_entries(dir)) {
    if (ignored(p, spec.ignore)) continue;
    if (followed_type(p) != fs::file_type::directory)
      throw RuntimeError(p.string() + ": a file beside the class folders (expected only one " +
                         "folder per class here; or add a pattern for it to data.ignore)");
    names.push_back(p.filename().string());
  }
  if (names.empty()) throw RuntimeError(dir.string() + ": no class folders in it");
  return names;
}

// Adds the images under `dir` to `files`, following links as torchvision's ImageFolder does.
// `inside` holds the real paths of the folders being walked: a link back to one of them is a
// loop, reported rather than walked until the path grows too long.
void add_images(const fs::path& dir, const config::DataSpec& spec, std::vector<fs::path>& inside,
                std::vector<std::string>& files) {
  inside.push_back(fs::canonical(dir));
  for (const auto& p : sorted_entries(dir)) {
    if (ignored(p, spec.ignore)) continue;
    if (followed_type(p) == fs::file_type::directory) {
      if (std::find(inside.begin(), inside.end(), fs::canonical(p)) != inside.end())
        throw RuntimeError(p.string() +
                           ": leads back to a folder it is in, through a symbolic link (a loop)");
      add_images(p, spec, inside, files);
      continue;
    }
    if (!is_image_name(p))
      throw RuntimeError(p.string() +
                         ": not a .png, .jpg or .jpeg file (add a pattern for it to data.ignore "
                         "to skip it)");
    files.push_back(p.string());
  }
  inside.pop_back();
}

// The images under one class folder, its subfolders included, sorted.
std::vector<std::string> class_files(const fs::path& dir, const config::DataSpec& spec) {
  std::vector<std::string> files;
  std::vector<fs::path> inside;
  add_images(dir, spec, inside, files);
  std::sort(files.begin(), files.end());
  if (files.empty()) throw RuntimeError(dir.string() + ": an empty class folder (no images)");
  return files;
}

struct Listing {
  std::vector<std::string> classes;
  std::vector<std::string> files[kParts];
  std::vector<int64_t> labels[kParts];
};

void list_part(Listing& l, Part part, const fs::path& dir, const config::DataSpec& spec) {
  for (const auto& name : class_folders(dir, spec)) {
    auto at = std::find(l.classes.begin(), l.classes.end(), name);
    if (at == l.classes.end())
      throw RuntimeError((dir / name).string() + ": class '" + name +
                         "' is not one of train/'s classes (" + join(l.classes) + ")");
    for (auto& f : class_files(dir / name, spec)) {
      l.files[part].push_back(std::move(f));
      l.labels[part].push_back(at - l.classes.begin());
    }
  }
}

// Evenly spaced picks: the files are in class order, so a limit keeps every class.
void limit_part(Listing& l, Part part, int64_t limit) {
  auto& files = l.files[part];
  auto& labels = l.labels[part];
  const int64_t n = int64_t(files.size());
  if (limit <= 0 || limit >= n) return;
  std::vector<std::string> f;
  std::vector<int64_t> lab;
  for (int64_t i = 0; i < limit; ++i) {
    f.push_back(files[i * n / limit]);
    lab.push_back(labels[i * n / limit]);
  }
  files = std::move(f), labels = std::move(lab);
}

Listing list_folder(const config::DataSpec& spec) {
  const fs::path root = spec.root;
  Listing l;
  l.classes = class_folders(root / "train", spec);
  list_part(l, kTrain, root / "train", spec);
  list_part(l, kTest, root / "test", spec);
  // (The config refuses data.val_split beside a val/ folder.)
  if (fs::is_directory(root / "val") && spec.val_split == 0) list_part(l, kVal, root / "val", spec);
  limit_part(l, kTrain, spec.train_limit);
  limit_part(l, kTest, spec.test_limit);
  return l;
}

// An image brought to `size` (antialiased bilinear, as PIL's resize) unless it has it.
at::Tensor fitted(const at::Tensor& chw, Size2 size) {
  if (chw.size(1) == size.h && chw.size(2) == size.w) return chw;
  at::Tensor x = chw.unsqueeze(0).to(at::kFloat);
  x = at::_upsample_bilinear2d_aa(x, {size.h, size.w}, /*align_corners=*/false);
  return x.round_().clamp_(0, 255).to(at::kByte).squeeze(0);
}

std::string shape_text(const ImageHeader& h) {
  return std::to_string(h.channels == 1 ? 1 : 3) + "x" + std::to_string(h.height) + "x" +
         std::to_string(h.width);
}

// Reads and decodes a whole listing: headers first (to size the tensor), then every image.
class FolderLoader {
 public:
  FolderLoader(const config::DataSpec& spec, Listing& listing) : spec_(spec), listing_(listing) {
    for (int p = 0; p < kParts; ++p)
      for (const auto& f : listing_.files[p]) files_.push_back(f);
    errors_.resize(files_.size());
  }

  Dataset load() {
    read_headers();
    decide_shape();
    Dataset d;
    d.name = "folder";
    d.source = spec_.root;
    d.class_names = listing_.classes;
    const int64_t bytes = int64_t(files_.size()) * channels_ * size_.h * size_.w;
    const int64_t free = available_memory_bytes();
    const bool memory =
        spec_.cache == config::CacheKind::kMemory ||
        (spec_.cache == config::CacheKind::kAuto && (free == 0 || bytes <= free / 2));
    at::Tensor images = decode_all(memory);
    d.cache = memory ? "memory" : "none";
    d.cache_bytes = memory ? bytes : 0;
    for (size_t i = 0; i < files_.size(); ++i)
      if (!errors_[i].empty()) d.skipped.push_back(files_[i]);
    Split* parts[kParts] = {&d.train, &d.val, &d.test};
    int64_t offset = 0;
    for (int p = 0; p < kParts; ++p) {
      *parts[p] = part_split(p, offset, images);
      offset += int64_t(listing_.files[p].size());
    }
    return d;
  }

 private:
  void read_headers() {
    headers_.resize(files_.size());
    parallel_each(int64_t(files_.size()), [&](int64_t i) {
      try {
        headers_[i] = read_image_header(read_file(files_[i]), files_[i]);
      } catch (const RuntimeError& e) {
        errors_[i] = e.what();
      }
    });
    stop_on_bad();
  }

  // Without data.skip_bad, the first bad file (in listing order) ends the load.
  void stop_on_bad() const {
    if (spec_.skip_bad) return;
    for (const auto& e : errors_)
      if (!e.empty())
        throw RuntimeError(e + " (set data.skip_bad: true to train without such files)");
  }

  void decide_shape() {
    int64_t first = -1;
    for (size_t i = 0; i < files_.size() && first < 0; ++i)
      if (errors_[i].empty()) first = int64_t(i);
    if (first < 0) throw RuntimeError(spec_.root + ": no image decoded");
    const ImageHeader& h0 = headers_[first];
    channels_ = spec_.channels ? spec_.channels : h0.channels;
    bool same_size = true;
    for (size_t i = 0; i < files_.size(); ++i) {
      if (!errors_[i].empty()) continue;
      const ImageHeader& h = headers_[i];
      if (spec_.channels == 0 && h.channels != h0.channels)
        throw RuntimeError("images of different channels: " + files_[first] + " is " +
                           shape_text(h0) + " but " + files_[i] + " is " + shape_text(h) +
                           " (set data.channels: 1 or 3 to convert them)");
      if (h.height != h0.height || h.width != h0.width) {
        if (spec_.resize.empty())
          throw RuntimeError("images of different sizes: " + files_[first] + " is " +
                             shape_text(h0) + " but " + files_[i] + " is " + shape_text(h) +
                             " (set data.resize to a side or [height, width])");
        same_size = false;
      }
    }
    // Images of one size are kept as they are and resized per batch, as IDX datasets are;
    // images of many sizes are brought to data.resize as they are decoded.
    size_ = same_size ? Size2{h0.height, h0.width} : spec_.resize;
  }

  at::Tensor decode_all(bool keep) {
    const int64_t n = int64_t(files_.size());
    at::Tensor out = keep ? at::empty({n, channels_, size_.h, size_.w}, at::kByte) : at::Tensor();
    parallel_each(n, [&](int64_t i) {
      if (!errors_[i].empty()) return;
      use_one_thread_here();
      try {
        at::Tensor image = load_image(files_[i], channels_, size_);
        if (keep) out[i].copy_(image);
      } catch (const RuntimeError& e) {
        errors_[i] = e.what();
      }
    });
    stop_on_bad();
    return out;
  }

  Split part_split(int part, int64_t offset, const at::Tensor& images) const {
    std::vector<int64_t> good;
    const auto& labels = listing_.labels[part];
    for (size_t k = 0; k < labels.size(); ++k)
      if (errors_[offset + k].empty()) good.push_back(offset + int64_t(k));
    Split s;
    s.labels = at::empty({int64_t(good.size())}, at::kLong);
    for (size_t k = 0; k < good.size(); ++k)
      s.labels.data_ptr<int64_t>()[k] = labels[good[k] - offset];
    if (images.defined()) {
      at::Tensor index = at::empty({int64_t(good.size())}, at::kLong);
      if (!good.empty()) std::memcpy(index.data_ptr<int64_t>(), good.data(), good.size() * 8);
      s.images = images.index_select(0, index);
      return s;
    }
    auto files = std::make_shared<ImageFiles>();
    for (int64_t g : good) files->paths.push_back(files_[g]);
    files->channels = channels_, files->size = size_;
    s.files = std::move(files);
    return s;
  }

  const config::DataSpec& spec_;
  Listing& listing_;
  std::vector<std::string> files_;  // train, val, test, in listing order
  std::vector<ImageHeader> headers_;
  std::vector<std::string> errors_;  // per file: why it cannot be used, or ""
  int64_t channels_ = 0;
  Size2 size_;
};

}  // namespace

at::Tensor load_image(const std::string& file, int64_t channels, Size2 size) {
  return fitted(decode_image(read_file(file), channels, file), size);
}

at::Tensor ImageFiles::decode(const at::Tensor& index) const {
  const int64_t n = index.numel();
  at::Tensor out = at::empty({n, channels, size.h, size.w}, at::kByte);
  const int64_t* at = index.data_ptr<int64_t>();
  parallel_each(n, [&](int64_t i) {
    use_one_thread_here();
    out[i].copy_(load_image(paths[at[i]], channels, size));
  });
  return out;
}

namespace {

StoredGeometry stored_geometry(const config::DataSpec& spec) {
  const fs::path train = fs::path(spec.root) / "train";
  const std::vector<std::string> classes = class_folders(train, spec);
  const std::string first = class_files(train / classes[0], spec)[0];
  const ImageHeader h = read_image_header(read_file(first), first);
  return {h.channels, h.height, h.width, int64_t(classes.size()), /*from_files=*/true};
}

bool has_val_folder(const config::DataSpec& spec) {
  std::error_code ignored;
  return !spec.root.empty() && fs::is_directory(fs::path(spec.root) / "val", ignored);
}

}  // namespace

Dataset read_folder(const config::DataSpec& spec) {
  Listing listing = list_folder(spec);
  return FolderLoader(spec, listing).load();
}

DatasetEntry folder_dataset() {
  return {"folder",
          "your images: data.root/train, test (and val) hold a folder per class of PNG and JPEG "
          "files",
          {"data.root", "data.channels", "data.cache", "data.skip_bad", "data.ignore"},
          stored_geometry,
          read_folder,
          has_val_folder,
          [](const config::DataSpec& spec) -> std::optional<Problem> {
            if (!spec.root.empty()) return std::nullopt;
            return Problem{"data.root",
                           "a folder dataset needs data.root: the folder holding train/ and "
                           "test/, each with a folder per class"};
          }};
}

}  // namespace dlx::data
