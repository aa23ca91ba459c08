#include "framework/data/dataset.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/randperm.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "framework/core/error.h"
#include "framework/data/registry.h"

namespace dlx::data {

namespace fs = std::filesystem;

namespace {

Split limited(Split split, int64_t limit) {
  if (limit <= 0 || limit >= split.size()) return split;
  return split.select(at::arange(limit, at::kLong));
}

bool holds(const fs::path& root, const DataFolder& folder) {
  return fs::exists(root / folder.marker) || fs::exists(root / (folder.marker + ".gz"));
}
}  // namespace

fs::path find_data_root(const config::DataSpec& spec, const DataFolder& folder) {
  if (!spec.root.empty()) {
    if (!holds(spec.root, folder))
      throw RuntimeError("data.root " + spec.root + ": no " + folder.shown + " there");
    return spec.root;
  }
  std::vector<fs::path> tried;
  if (const char* env = std::getenv("DLX_DATA")) tried.push_back(fs::path(env) / spec.dataset);
  tried.push_back(fs::path("/usr/share/datasets") / spec.dataset);
  for (const auto& candidate : tried) {
    if (holds(candidate, folder)) return candidate;
  }
  std::vector<std::string> names;
  for (const auto& t : tried) names.push_back(t.string());
  throw RuntimeError("dataset " + spec.dataset + " not found; looked in " + join(names) + " for " +
                     folder.shown +
                     " (set data.root or $DLX_DATA; Debian's dataset-fashion-mnist package "
                     "installs Fashion-MNIST)");
}

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

namespace {

std::optional<Problem> augment_misfit(const std::vector<config::AugmentSpec>& augment,
                                      config::Size2 size) {
  for (const auto& a : augment) {
    if (a.kind == config::AugmentKind::kRandomCrop) {
      const config::Size2 crop = a.crop.size.empty() ? size : a.crop.size;
      const int64_t p = a.crop.padding;
      if (crop.h > size.h + 2 * p || crop.w > size.w + 2 * p)
        return Problem{a.path + ".random_crop.size",
                       crop.str() + " does not fit " + size.str() + " images padded by " +
                           std::to_string(p) + " (at most " +
                           config::Size2{size.h + 2 * p, size.w + 2 * p}.str() + ")"};
    }
    size = config::augmented_size(a, size);
  }
  return std::nullopt;
}

std::optional<Problem> normalize_misfit(const config::NormalizeSpec& n, int64_t channels) {
  if (n.kind != config::NormalizeKind::kGiven || int64_t(n.mean.size()) == channels)
    return std::nullopt;
  return Problem{"data.normalize", std::to_string(n.mean.size()) +
                                       " means and stds for images of " + std::to_string(channels) +
                                       " channel" + (channels == 1 ? "" : "s")};
}

}  // namespace

Geometry geometry(const config::DataSpec& spec) {
  const StoredGeometry stored = dataset_entry(spec).stored(spec);
  // data.channels converts a folder's images; other datasets' channels are what they store.
  const int64_t channels = stored.from_files && spec.channels ? spec.channels : stored.channels;
  config::Size2 size =
      spec.resize.empty() ? config::Size2{stored.height, stored.width} : spec.resize;
  std::optional<Problem> misfit = augment_misfit(spec.augment, size);
  if (!misfit) misfit = normalize_misfit(spec.normalize, channels);
  const bool images_decided = stored.from_files && (spec.channels == 0 || spec.resize.empty());
  if (misfit) {
    // When the images decided the shape, the message points at them rather than at the key.
    throw ConfigError::plain(images_decided ? Location{spec.root} : spec.locate(misfit->key),
                             misfit->key, misfit->message);
  }
  for (const auto& a : spec.augment) size = config::augmented_size(a, size);
  return {{channels, size.h, size.w}, stored.classes, images_decided};
}

bool has_validation(const config::DataSpec& spec) {
  const auto& own = dataset_entry(spec).validation_folder;
  return spec.val_split > 0 || (own && own(spec));
}

void check_data(const config::DataSpec& spec) {
  const DatasetEntry& entry = dataset_entry(spec);
  if (entry.check) {
    if (auto problem = entry.check(spec))
      throw ConfigError::plain(spec.locate(problem->key), problem->key, problem->message);
  }
  if (spec.val_split > 0 && entry.validation_folder && entry.validation_folder(spec))
    throw ConfigError::plain(spec.locate("data.val_split"), "data.val_split",
                             spec.root +
                                 "/val is the validation split: set data.val_split to 0, "
                                 "or move val/ away to hold out part of train/");
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
  Dataset d = dataset_entry(spec).load(spec);
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

}  // namespace dlx::data
