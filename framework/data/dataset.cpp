#include "framework/data/dataset.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/randperm.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "framework/core/error.h"
#include "framework/data/cifar10.h"
#include "framework/data/folder.h"
#include "framework/data/idx.h"

namespace dlx::data {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string>& fashion_names() {
  static const std::vector<std::string> names{"t-shirt", "trouser",   "pullover", "dress",
                                              "coat",    "sandal",    "shirt",    "sneaker",
                                              "bag",     "ankle boot"};
  return names;
}

const std::vector<std::string>& digit_names() {
  static const std::vector<std::string> names{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  return names;
}

// The file as shipped (gzip) or unpacked.
fs::path idx_file(const fs::path& root, const std::string& stem) {
  fs::path gz = root / (stem + ".gz");
  return fs::exists(gz) ? gz : root / stem;
}

Split limited(Split split, int64_t limit) {
  if (limit <= 0 || limit >= split.size()) return split;
  return split.select(at::arange(limit, at::kLong));
}

}  // namespace

namespace {
// The file that tells a dataset's folder, and what the error says the folder should hold.
struct Marker {
  std::string file, shown;
};

Marker marker_of(config::DatasetKind kind) {
  if (kind == config::DatasetKind::kCifar10)
    return {"data_batch_1.bin",
            "data_batch_1.bin (CIFAR-10's binary version: data_batch_1.bin .. data_batch_5.bin, "
            "test_batch.bin and batches.meta.txt)"};
  return {"train-images-idx3-ubyte", "train-images-idx3-ubyte[.gz]"};
}

bool holds(const fs::path& root, const Marker& marker) {
  return fs::exists(root / marker.file) || fs::exists(root / (marker.file + ".gz"));
}
}  // namespace

fs::path find_data_root(const config::DataSpec& spec) {
  const std::string name = config::choice_name(spec.dataset);
  const Marker marker = marker_of(spec.dataset);
  if (!spec.root.empty()) {
    if (!holds(spec.root, marker))
      throw RuntimeError("data.root " + spec.root + ": no " + marker.shown + " there");
    return spec.root;
  }
  std::vector<fs::path> tried;
  if (const char* env = std::getenv("DLX_DATA")) tried.push_back(fs::path(env) / name);
  tried.push_back(fs::path("/usr/share/datasets") / name);
  for (const auto& candidate : tried) {
    if (holds(candidate, marker)) return candidate;
  }
  std::vector<std::string> names;
  for (const auto& t : tried) names.push_back(t.string());
  throw RuntimeError("dataset " + name + " not found; looked in " + join(names) + " for " +
                     marker.shown +
                     " (set data.root or $DLX_DATA; Debian's dataset-fashion-mnist package "
                     "installs Fashion-MNIST)");
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

namespace {
// An IDX dataset (MNIST's layout) from its folder.
Dataset load_idx(const config::DataSpec& spec, const std::vector<std::string>& class_names) {
  Dataset d;
  fs::path root = find_data_root(spec);
  d.name = config::choice_name(spec.dataset);
  d.source = root.string();
  d.class_names = class_names;
  d.train = read_idx_split(idx_file(root, "train-images-idx3-ubyte"),
                           idx_file(root, "train-labels-idx1-ubyte"), d.classes());
  d.test = read_idx_split(idx_file(root, "t10k-images-idx3-ubyte"),
                          idx_file(root, "t10k-labels-idx1-ubyte"), d.classes());
  return d;
}

Dataset load_whole(const config::DataSpec& spec) {
  switch (spec.dataset) {
    case config::DatasetKind::kFashionMnist:
      return load_idx(spec, fashion_names());
    case config::DatasetKind::kMnist:
      return load_idx(spec, digit_names());
    case config::DatasetKind::kCifar10:
      return read_cifar10(find_data_root(spec));
    case config::DatasetKind::kFolder:
      return read_folder(spec);
    case config::DatasetKind::kSynthetic:
      break;
  }
  return make_synthetic(spec.synthetic);
}
}  // namespace

std::vector<int64_t> Dataset::image_size() const {
  if (train.files) return {train.files->size.h, train.files->size.w};
  return {train.images.size(2), train.images.size(3)};
}

at::Tensor Split::images_at(const at::Tensor& index) const {
  return files ? files->decode(index) : images.index_select(0, index);
}

Split Split::select(const at::Tensor& index) const {
  Split out{{}, labels.index_select(0, index), {}};
  if (!files) {
    out.images = images.index_select(0, index);
    return out;
  }
  auto picked = std::make_shared<ImageFiles>(*files);
  picked->paths.clear();
  const int64_t* at = index.data_ptr<int64_t>();
  for (int64_t i = 0; i < index.numel(); ++i) picked->paths.push_back(files->paths[at[i]]);
  out.files = std::move(picked);
  return out;
}

Normalization channel_statistics(const Split& split) {
  // In chunks, in double: a float copy of CIFAR-10's training set alone would be 600 MB.
  constexpr int64_t kChunk = 4096;
  at::Tensor sum, squares;
  int64_t pixels = 0;
  for (int64_t start = 0; start < split.size(); start += kChunk) {
    at::Tensor index = at::arange(start, std::min(start + kChunk, split.size()), at::kLong);
    at::Tensor x = split.images_at(index).to(at::kDouble).div_(255.0);
    at::Tensor s = x.sum({0, 2, 3}), q = x.mul(x).sum({0, 2, 3});
    sum = sum.defined() ? sum + s : s;
    squares = squares.defined() ? squares + q : q;
    pixels += x.size(0) * x.size(2) * x.size(3);
  }
  Normalization n;
  for (int64_t c = 0; sum.defined() && c < sum.size(0); ++c) {
    const double mean = sum[c].item<double>() / double(pixels);
    const double var = squares[c].item<double>() / double(pixels) - mean * mean;
    n.mean.push_back(mean);
    n.std.push_back(std::sqrt(std::max(var, 1e-12)));
  }
  return n;
}

Geometry geometry(const config::DataSpec& spec) {
  if (spec.dataset == config::DatasetKind::kFolder) return folder_geometry(spec);
  return {config::example_shape(spec), config::class_count(spec)};
}

Split hold_out(Split& train, double share, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed * 7919ull + 17);
  std::vector<at::Tensor> held, kept;
  const int64_t classes = train.size() ? train.labels.max().item<int64_t>() + 1 : 0;
  for (int64_t c = 0; c < classes; ++c) {
    at::Tensor members = train.labels.eq(c).nonzero().flatten();
    const int64_t n = members.size(0);
    if (n == 0) continue;
    int64_t take = std::llround(double(n) * share);
    if (n >= 2) take = std::clamp<int64_t>(take, 1, n - 1);
    at::Tensor shuffled = members.index_select(0, at::randperm(n, gen, at::kLong));
    held.push_back(shuffled.narrow(0, 0, take));
    kept.push_back(shuffled.narrow(0, take, n - take));
  }
  auto gathered = [&](std::vector<at::Tensor>& parts) {
    return train.select(std::get<0>(at::cat(parts).sort()));
  };
  Split val = gathered(held);
  train = gathered(kept);
  return val;
}

Dataset load_dataset(const config::DataSpec& spec, uint64_t seed) {
  Dataset d = load_whole(spec);
  d.train = limited(d.train, spec.train_limit);
  d.test = limited(d.test, spec.test_limit);
  if (spec.val_split > 0) d.val = hold_out(d.train, spec.val_split, seed);
  switch (spec.normalize.kind) {
    case config::NormalizeKind::kNone:
      break;
    case config::NormalizeKind::kAuto:
      d.normalize = channel_statistics(d.train);
      break;
    case config::NormalizeKind::kGiven:
      d.normalize = {spec.normalize.mean, spec.normalize.std};
      break;
  }
  return d;
}

namespace {

Split synthetic_split(const at::Tensor& templates, int64_t size, double noise, at::Generator& gen) {
  const int64_t classes = templates.size(0);
  at::Tensor labels = at::randint(classes, {size}, gen, at::kLong);
  at::Tensor images =
      templates.index_select(0, labels) +
      noise * at::randn({size, templates.size(1), templates.size(2), templates.size(3)}, gen,
                        at::kFloat);
  images = (images.clamp(0, 1) * 255).round().to(at::kByte);
  return Split{images, labels};
}

}  // namespace

Dataset make_synthetic(const config::SyntheticSpec& spec) {
  // A fixed seed: the data is part of the experiment's definition, not of its randomness.
  at::Generator gen = at::detail::createCPUGenerator(20121203);
  at::Tensor templates =
      at::randn({spec.classes, spec.channels, spec.size, spec.size}, gen, at::kFloat)
          .mul(0.25)
          .add(0.5);
  Dataset d;
  d.name = "synthetic";
  d.source = "generated";
  for (int64_t c = 0; c < spec.classes; ++c) d.class_names.push_back("class " + std::to_string(c));
  d.train = synthetic_split(templates, spec.train_size, spec.noise, gen);
  d.test = synthetic_split(templates, spec.test_size, spec.noise, gen);
  return d;
}

}  // namespace dlx::data
