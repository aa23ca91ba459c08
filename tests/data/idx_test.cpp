#include <doctest/doctest.h>

#include <ATen/ops/arange.h>
#include <ATen/ops/equal.h>

#include <fstream>

#include "framework/core/files.h"
#include "framework/data/dataset.h"
#include "framework/data/idx.h"
#include "tests/helpers.h"

using namespace dlx;
namespace fs = std::filesystem;

namespace {
at::Tensor images(int64_t n) {
  return at::arange(n * 2 * 3, at::kLong).remainder(256).to(at::kByte).reshape({n, 2, 3});
}
at::Tensor labels(int64_t n) {
  return at::arange(n, at::kLong).remainder(10).to(at::kByte);
}

// Cuts `bytes` bytes off the end of a plain file.
void truncate_by(const fs::path& file, size_t bytes) {
  std::string content = read_file(file);
  std::ofstream(file, std::ios::binary | std::ios::trunc)
      << content.substr(0, content.size() - bytes);
}
}  // namespace

TEST_CASE("IDX files round-trip, plain and gzip") {
  testing::TempDir dir;
  for (bool gzip : {false, true}) {
    fs::path file = dir.path() / (gzip ? "x.gz" : "x");
    data::write_idx(file, images(5), gzip);
    at::Tensor back = data::read_idx(file, 3);
    CHECK(back.sizes().vec() == std::vector<int64_t>{5, 2, 3});
    CHECK(at::equal(back, images(5)));
  }
}

TEST_CASE("a truncated IDX file is an error naming the file and the shortfall") {
  testing::TempDir dir;
  fs::path file = dir.path() / "t10k-images-idx3-ubyte";
  data::write_idx(file, images(4), false);
  truncate_by(file, 5);
  CHECK(testing::runtime_error([&] { data::read_idx(file, 3); }) ==
        file.string() + ": truncated: the header promises 24 bytes of data, found 19");
  truncate_by(file, read_file(file).size() - 6);
  CHECK(testing::runtime_error([&] { data::read_idx(file, 3); }) ==
        file.string() + ": truncated in its header");
}

TEST_CASE("a file that is not IDX, or not of the expected kind, says so") {
  testing::TempDir dir;
  auto text = dir.write("notes.txt", "hello, world");
  CHECK(testing::runtime_error([&] { data::read_idx(text, 3); }) ==
        text.string() + ": not an IDX file (bad magic number)");
  fs::path labels_file = dir.path() / "labels";
  data::write_idx(labels_file, labels(3), false);
  CHECK(testing::runtime_error([&] { data::read_idx(labels_file, 3); }) ==
        labels_file.string() + ": IDX file with 1 dimensions, expected 3");
  CHECK(testing::runtime_error([&] { data::read_idx(dir.path() / "missing", 1); }) ==
        (dir.path() / "missing").string() + ": cannot open (missing or unreadable)");
  std::ofstream(labels_file, std::ios::app) << "xx";
  CHECK(testing::runtime_error([&] { data::read_idx(labels_file, 1); }) ==
        labels_file.string() + ": longer than its header says (trailing data)");
}

TEST_CASE("corrupt gzip data is reported as such") {
  testing::TempDir dir;
  fs::path file = dir.path() / "x.gz";
  data::write_idx(file, images(200), true);
  std::string bytes = read_file(file);
  for (size_t i = 20; i < bytes.size() - 8; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  std::string message = testing::runtime_error([&] { data::read_idx(file, 3); });
  CHECK(message.rfind(file.string() + ": ", 0) == 0);
  CHECK(message.find("corrupt compressed data") != std::string::npos);
}

TEST_CASE("images and labels must agree in count and labels must be classes") {
  testing::TempDir dir;
  data::write_idx(dir.path() / "images", images(4), false);
  data::write_idx(dir.path() / "labels", labels(3), false);
  CHECK(testing::runtime_error([&] {
          data::read_idx_split(dir.path() / "images", dir.path() / "labels", 10);
        }) == (dir.path() / "images").string() + " holds 4 images but " +
                  (dir.path() / "labels").string() + " holds 3 labels");
  data::write_idx(dir.path() / "labels", labels(4), false);
  CHECK(testing::runtime_error(
            [&] { data::read_idx_split(dir.path() / "images", dir.path() / "labels", 3); }) ==
        (dir.path() / "labels").string() + ": label 3 at index 3 is not a class (expected 0..2)");
}

TEST_CASE("a data root is searched in data.root, then $DLX_DATA/<dataset>") {
  testing::TempDir dir;
  fs::create_directories(dir.path() / "mnist");
  data::write_idx(dir.path() / "mnist/train-images-idx3-ubyte.gz", images(6), true);
  data::write_idx(dir.path() / "mnist/train-labels-idx1-ubyte.gz", labels(6), true);
  data::write_idx(dir.path() / "mnist/t10k-images-idx3-ubyte", images(2), false);
  data::write_idx(dir.path() / "mnist/t10k-labels-idx1-ubyte", labels(2), false);
  config::DataSpec spec;
  spec.dataset = "mnist";
  std::optional<testing::ScopedEnv> env(std::in_place, "DLX_DATA", dir.path().string());
  CHECK(data::find_data_root(spec, data::idx_folder()) == dir.path() / "mnist");
  data::Dataset d = data::load_dataset(spec);
  CHECK(d.train.images.sizes().vec() == std::vector<int64_t>{6, 1, 2, 3});
  CHECK(d.test.size() == 2);
  CHECK((d.train.labels.scalar_type() == at::kLong));
  spec.train_limit = 4;
  CHECK(data::load_dataset(spec).train.size() == 4);
  env.reset();
  spec.root = (dir.path() / "nowhere").string();
  CHECK(testing::runtime_error([&] { data::find_data_root(spec, data::idx_folder()); }) ==
        "data.root " + spec.root + ": no train-images-idx3-ubyte[.gz] there");
}

TEST_CASE("the real Fashion-MNIST has 60,000 + 10,000 labelled 28x28 images") {
  config::DataSpec spec;
  if (!fs::exists("/usr/share/datasets/fashion-mnist"))
    DLX_SKIP("dataset-fashion-mnist is not installed");
  spec.root = "/usr/share/datasets/fashion-mnist";
  data::Dataset d = data::load_dataset(spec);
  CHECK(d.train.images.sizes().vec() == std::vector<int64_t>{60000, 1, 28, 28});
  CHECK(d.test.size() == 10000);
  CHECK(d.class_names[9] == "ankle boot");
  CHECK(d.train.labels.bincount().eq(6000).all().item<bool>());
}
