// CIFAR-10's binary layout: files written here in that layout read back exactly, train from YAML,
// and every way a file can be wrong is one line naming it.
#include <doctest/doctest.h>

#include <ATen/ops/randint.h>

#include <sstream>

#include "framework/core/files.h"
#include "framework/data/cifar10.h"
#include "framework/experiment/experiment.h"
#include "framework/train/run.h"
#include "tests/helpers.h"

using namespace dlx;
namespace fs = std::filesystem;

namespace {

data::Split random_split(int64_t n, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  return {at::randint(0, 256, {n, 3, 32, 32}, gen, at::kByte),
          at::randint(0, 10, {n}, gen, at::kLong)};
}

// A small CIFAR-10 folder: 5 training files of `per_file` records and a test file.
fs::path write_folder(const fs::path& root, int64_t per_file) {
  fs::create_directories(root);
  for (int i = 1; i <= 5; ++i)
    data::write_cifar10_batch(root / ("data_batch_" + std::to_string(i) + ".bin"),
                              random_split(per_file, i));
  data::write_cifar10_batch(root / "test_batch.bin", random_split(per_file, 9));
  write_file_atomic(root / "batches.meta.txt",
                    "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n");
  return root;
}

}  // namespace

TEST_CASE("CIFAR-10 batch files read back as the records written: label, then R, G, B planes") {
  testing::TempDir dir;
  data::Split split = random_split(7, 1);
  data::write_cifar10_batch(dir.path() / "b.bin", split);
  const std::string bytes = read_file(dir.path() / "b.bin");
  REQUIRE(bytes.size() == 7 * 3073);
  // The layout itself, byte by byte: record 2's label, then its green plane's first pixel.
  CHECK(uint8_t(bytes[2 * 3073]) == split.labels[2].item<int64_t>());
  CHECK(uint8_t(bytes[2 * 3073 + 1 + 1024]) == split.images[2][1][0][0].item<uint8_t>());
  data::Split back = data::read_cifar10_batch(dir.path() / "b.bin");
  CHECK(back.images.equal(split.images));
  CHECK(back.labels.equal(split.labels));

  const fs::path root = write_folder(dir.path() / "cifar10", 20);
  data::Dataset d = data::read_cifar10(root);
  CHECK(d.train.size() == 100);
  CHECK(d.test.size() == 20);
  CHECK(d.class_names[9] == "truck");
}

TEST_CASE("a CIFAR-10 file that is not whole records, or a bad label, is one line naming it") {
  testing::TempDir dir;
  write_file_atomic(dir.path() / "short.bin", std::string(3073 * 2 + 5, '\0'));
  CHECK(testing::runtime_error([&] { data::read_cifar10_batch(dir.path() / "short.bin"); }) ==
        (dir.path() / "short.bin").string() +
            ": 6151 bytes is not a whole number of CIFAR-10 records (3073 bytes each)");
  std::string records(3073 * 2, '\0');
  records[3073] = 12;
  write_file_atomic(dir.path() / "label.bin", records);
  CHECK(testing::runtime_error([&] { data::read_cifar10_batch(dir.path() / "label.bin"); }) ==
        (dir.path() / "label.bin").string() + ": record 1 has label 12 (expected 0..9)");
  config::DataSpec spec;
  spec.dataset = "cifar10";
  spec.root = dir.path().string();
  CHECK(testing::runtime_error([&] { data::load_dataset(spec); }) ==
        "data.root " + dir.path().string() +
            ": no data_batch_1.bin (CIFAR-10's binary version: data_batch_1.bin .. "
            "data_batch_5.bin, test_batch.bin and batches.meta.txt) there");
}

TEST_CASE("a CIFAR-10 folder trains from YAML, found through $DLX_DATA") {
  testing::TempDir dir;
  write_folder(dir.path() / "cifar10", 40);
  auto file = dir.write("c.yaml", R"(name: cifar
model:
  layers:
    - conv2d: {out_channels: 4, kernel_size: 3, stride: 2, activation: relu}
    - dense: {units: 10}
data: {dataset: cifar10, batch_size: 50, val_split: 0.2}
train: {epochs: 1, device: cpu, threads: 1}
)");
  testing::ScopedEnv env("DLX_DATA", dir.path().string());
  auto spec = experiment::load(file);
  CHECK(spec.model.input == std::vector<int64_t>{3, 32, 32});
  std::ostringstream out;
  train::RunOptions options;
  options.runs_root = dir.path() / "runs";
  auto outcome = train::run_experiment(spec, options, out);
  CAPTURE(out.str());
  CHECK(outcome.status == report::RunStatus::kCompleted);
  CHECK(out.str().find("data: cifar10 from " + (dir.path() / "cifar10").string() +
                       ": 160 train, 40 validation, 40 test examples") != std::string::npos);
}
