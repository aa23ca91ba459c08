// Folder datasets of PNG and JPEG files: decoded as an independent reader (PIL) decodes them,
// laid out as torchvision's ImageFolder reads them, converted, resized, cached or not, with bad
// files refused or skipped; and runs on them from YAML.
#include <doctest/doctest.h>

#include <ATen/ops/arange.h>
#include <ATen/ops/full.h>
#include <ATen/ops/randint.h>

#include <zlib.h>

#include <nlohmann/json.hpp>

#include "framework/core/files.h"
#include "framework/data/batches.h"
#include "framework/data/folder.h"
#include "framework/data/image_io.h"
#include "tests/helpers.h"

using namespace dlx;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

at::Tensor noise(int64_t c, int64_t h, int64_t w, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  return at::randint(0, 256, {c, h, w}, gen, at::kByte);
}

// A class's images: `count` of them, gray PNGs and RGB JPEGs in turn, of sizes that vary.
void write_class(const testing::TempDir& dir, const std::string& folder, int64_t count,
                 uint64_t seed, bool vary = true) {
  for (int64_t i = 0; i < count; ++i) {
    const int64_t side = vary ? 12 + (i % 3) * 2 : 12;
    // Each class a brightness of its own, so that a network can tell them apart.
    at::Tensor image =
        noise(1, side, side, seed * 100 + uint64_t(i)).div(4, "floor").add(int64_t(seed % 10) * 40);
    if (i % 2 == 0) {
      dir.write(folder + "/" + std::to_string(i) + ".png", data::encode_png(image));
    } else {
      dir.write(folder + "/" + std::to_string(i) + ".JPG",
                data::encode_jpeg(image.expand({3, side, side}).contiguous(), 95));
    }
  }
}

// train/ and test/ with classes b, a and c (written in that order; labels are sorted names).
void write_dataset(const testing::TempDir& dir, int64_t per_class, bool vary = true) {
  uint64_t seed = 1;
  for (const char* name : {"b", "a", "c"}) {
    write_class(dir, std::string("train/") + name, per_class, seed, vary);
    write_class(dir, std::string("test/") + name, per_class / 4 + 1, seed + 10, vary);
    ++seed;
  }
}

config::DataSpec folder_spec(const fs::path& root) {
  config::DataSpec spec;
  spec.dataset = "folder";
  spec.root = root.string();
  return spec;
}

}  // namespace

TEST_CASE("PNG and JPEG files decode to the pixels PIL decodes") {
  std::string out;
  if (testing::run_command("/usr/bin/python3 -c 'import PIL'", out) != 0)
    DLX_SKIP("python3-pil is not installed");
  testing::TempDir dir;
  // PIL writes every kind of file; its own decoding, converted as dlx converts, is the truth.
  const std::string script = R"(
import io, sys
from PIL import Image
d = sys.argv[1]
base = Image.effect_noise((23, 17), 80).convert("L")
rgb = Image.merge("RGB", (base, base.rotate(90), base.transpose(Image.FLIP_LEFT_RIGHT)))
cases = {"gray.png": base, "rgb.png": rgb, "rgba.png": rgb.convert("RGBA"),
         "palette.png": rgb.convert("P"), "rgb.jpg": rgb, "gray.jpeg": base}
for name, image in cases.items():
    image.save(f"{d}/{name}", quality=90) if "jp" in name else image.save(f"{d}/{name}")
    back = Image.open(f"{d}/{name}")
    for mode in ("L", "RGB"):
        open(f"{d}/{name}.{mode}", "wb").write(back.convert(mode).tobytes())
# 16 bits a sample, each the 8-bit value v as v * 257: its high byte is v.
wide = Image.frombytes("I;16", base.size, bytes(b for v in base.tobytes() for b in (v, v)))
wide.save(f"{d}/gray16.png")
open(f"{d}/gray16.png.L", "wb").write(base.tobytes())
)";
  dir.write("make.py", script);
  REQUIRE(testing::run_command(
              "/usr/bin/python3 " + (dir.path() / "make.py").string() + " " + dir.path().string(),
              out) == 0);
  for (const char* name :
       {"gray.png", "rgb.png", "rgba.png", "palette.png", "rgb.jpg", "gray.jpeg"}) {
    CAPTURE(name);
    const std::string file = (dir.path() / name).string();
    const std::string bytes = read_file(file);
    const data::ImageHeader h = data::read_image_header(bytes, file);
    CHECK(h.height == 17);
    CHECK(h.width == 23);
    for (int64_t channels : {1, 3}) {
      CAPTURE(channels);
      at::Tensor mine = data::decode_image(bytes, channels, file);
      REQUIRE(mine.sizes().vec() == std::vector<int64_t>{channels, 17, 23});
      const std::string pil = read_file(file + (channels == 1 ? ".L" : ".RGB"));
      at::Tensor theirs = mine.permute({1, 2, 0}).contiguous();
      const std::string got(reinterpret_cast<const char*>(theirs.data_ptr<uint8_t>()),
                            size_t(theirs.numel()));
      CHECK(got == pil);
    }
  }
  // 16-bit gray: dlx keeps each sample's high byte.
  const std::string file16 = (dir.path() / "gray16.png").string();
  at::Tensor g = data::decode_image(read_file(file16), 1, file16);
  CHECK(std::string(reinterpret_cast<const char*>(g.data_ptr<uint8_t>()), size_t(g.numel())) ==
        read_file(file16 + ".L"));
}

TEST_CASE("a folder dataset: sorted class names as labels, channels converted, sizes resized") {
  testing::TempDir dir;
  write_dataset(dir, 8);
  dir.write("train/a/notes.txt", "not an image");
  dir.write("train/.DS_Store", "hidden files are ignored");
  config::DataSpec spec = folder_spec(dir.path());
  spec.ignore = {"*.txt"};
  spec.channels = 3;
  spec.resize = {10, 11};
  data::Dataset d = data::load_dataset(spec);
  CHECK(d.class_names == std::vector<std::string>{"a", "b", "c"});
  CHECK(d.train.size() == 24);
  CHECK(d.test.size() == 9);
  CHECK(d.train.images.sizes().vec() == std::vector<int64_t>{24, 3, 10, 11});
  CHECK(d.cache == "memory");
  CHECK(d.cache_bytes == 33 * 3 * 10 * 11);
  // Files in sorted order within sorted classes: a's eight first.
  CHECK(d.train.labels.narrow(0, 0, 8).eq(0).all().item<bool>());
  CHECK(d.train.labels.narrow(0, 8, 8).eq(1).all().item<bool>());
  CHECK(data::geometry(spec).input == std::vector<int64_t>{3, 10, 11});
  CHECK(data::geometry(spec).classes == 3);

  // Without data.channels, mixed files are refused naming two of them; with 1, all go gray.
  spec.channels = 0;
  const std::string mixed = testing::runtime_error([&] { data::load_dataset(spec); });
  CHECK(mixed.find("images of different channels: ") == 0);
  CHECK(mixed.find("/train/a/0.png is 1x12x12 but ") != std::string::npos);
  spec.channels = 1;
  CHECK(data::load_dataset(spec).train.images.size(1) == 1);
  // Without data.resize, different sizes are refused the same way.
  spec.resize = {};
  CHECK(testing::runtime_error([&] {
          data::load_dataset(spec);
        }).find("images of different sizes: ") == 0);
}

TEST_CASE("one size: images stay as stored and are resized per batch, as IDX datasets are") {
  testing::TempDir dir;
  write_dataset(dir, 4, /*vary=*/false);
  config::DataSpec spec = folder_spec(dir.path());
  spec.channels = 1;
  spec.resize = {20, 20};
  data::Dataset d = data::load_dataset(spec);
  CHECK(d.train.images.sizes().vec() == std::vector<int64_t>{12, 1, 12, 12});
  CHECK(d.image_size() == std::vector<int64_t>{12, 12});
  CHECK(data::geometry(spec).input == std::vector<int64_t>{1, 20, 20});
}

TEST_CASE("a val/ folder is the validation split, and limits keep every class") {
  testing::TempDir dir;
  write_dataset(dir, 8);
  write_class(dir, "val/c", 2, 7);
  write_class(dir, "val/a", 3, 8);
  config::DataSpec spec = folder_spec(dir.path());
  spec.channels = 1;
  spec.resize = {12, 12};
  spec.train_limit = 6;
  data::Dataset d = data::load_dataset(spec);
  CHECK(d.val.size() == 5);
  CHECK(d.val.labels.eq(1).sum().item<int64_t>() == 0);  // val/ has no b
  CHECK(d.train.size() == 6);
  for (int64_t c = 0; c < 3; ++c) CHECK(d.train.labels.eq(c).sum().item<int64_t>() == 2);
  CHECK(data::has_validation(spec));
}

TEST_CASE("linked class folders and subfolders are followed; a loop of links is one line") {
  testing::TempDir dir, elsewhere;
  write_dataset(dir, 4, /*vary=*/false);
  write_class(elsewhere, "d", 4, 9, /*vary=*/false);
  write_class(elsewhere, "more", 2, 1, /*vary=*/false);
  fs::create_directory_symlink(elsewhere.path() / "d", dir.path() / "train/d");
  fs::create_directory_symlink(elsewhere.path() / "more", dir.path() / "train/a/more");
  config::DataSpec spec = folder_spec(dir.path());
  spec.channels = 1;
  data::Dataset d = data::load_dataset(spec);
  CHECK(d.class_names == std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(d.train.size() == 3 * 4 + 4 + 2);
  CHECK(d.train.labels.eq(0).sum().item<int64_t>() == 4 + 2);

  // A link from inside the linked folder back to the class: followed, it would never end.
  fs::create_directory_symlink(dir.path() / "train/a", elsewhere.path() / "more/back");
  CHECK(testing::runtime_error([&] { data::load_dataset(spec); }) ==
        (dir.path() / "train/a/more/back").string() +
            ": leads back to a folder it is in, through a symbolic link (a loop)");
}

TEST_CASE("images larger than 32768 pixels on a side are refused from their headers") {
  // A PNG whose IHDR claims 40000 x 12 (its CRC made right): no decoder allocates for it.
  std::string png = data::encode_png(noise(1, 12, 12, 1));
  const unsigned char wide[4] = {0x00, 0x00, 0x9c, 0x40};  // 40000, big-endian
  png.replace(16, 4, reinterpret_cast<const char*>(wide), 4);
  const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(png.data() + 12), 17);
  const unsigned char crc_bytes[4] = {
      static_cast<unsigned char>(crc >> 24), static_cast<unsigned char>(crc >> 16),
      static_cast<unsigned char>(crc >> 8), static_cast<unsigned char>(crc)};
  png.replace(29, 4, reinterpret_cast<const char*>(crc_bytes), 4);
  CHECK(testing::runtime_error([&] { data::read_image_header(png, "wide.png"); }) ==
        "wide.png: not a readable PNG (image width exceeds user limit)");

  // A JPEG whose start-of-frame claims 12 x 40000.
  std::string jpeg = data::encode_jpeg(noise(3, 12, 12, 2), 90);
  const size_t sof = jpeg.find("\xff\xc0");
  REQUIRE(sof != std::string::npos);
  jpeg.replace(sof + 7, 2, reinterpret_cast<const char*>(wide + 2), 2);
  CHECK(testing::runtime_error([&] { data::read_image_header(jpeg, "wide.jpg"); }) ==
        "wide.jpg: a JPEG of 40000x12 pixels");
}

TEST_CASE("bad files stop the load naming the first, unless skip_bad counts and skips them") {
  testing::TempDir dir;
  write_dataset(dir, 4, /*vary=*/false);
  const std::string good = read_file(dir.path() / "train/b/1.JPG");
  dir.write("train/b/1.JPG", good.substr(0, good.size() / 2));  // truncated
  dir.write("test/a/9.png", "");                                // empty
  dir.write("train/c/7.png", "\x89PNG\r\n\x1a\nnot really");    // corrupt
  config::DataSpec spec = folder_spec(dir.path());
  spec.channels = 1;
  const std::string first = testing::runtime_error([&] { data::load_dataset(spec); });
  CHECK(first.find("/train/b/1.JPG: ") != std::string::npos);
  CHECK(first.find("set data.skip_bad: true") != std::string::npos);
  spec.skip_bad = true;
  data::Dataset d = data::load_dataset(spec);
  CHECK(d.skipped.size() == 3);
  CHECK(d.train.size() == 11);
  CHECK(d.test.size() == 6);
}

TEST_CASE("cache none decodes each batch again and gives the batches the memory cache gives") {
  testing::TempDir dir;
  write_dataset(dir, 6);
  config::DataSpec spec = folder_spec(dir.path());
  spec.channels = 3;
  spec.resize = {12, 12};
  spec.val_split = 0.25;
  data::Dataset memory = data::load_dataset(spec, 4);
  spec.cache = config::CacheKind::kNone;
  data::Dataset files = data::load_dataset(spec, 4);
  CHECK(files.cache == "none");
  CHECK_FALSE(files.train.images.defined());
  REQUIRE(files.train.files);
  CHECK(files.val.size() == memory.val.size());
  data::BatchOptions options;
  options.batch_size = 5;
  options.seed = 9;
  options.prefetch = true;
  for (auto [a, b] : {std::pair{&memory.train, &files.train}, {&memory.val, &files.val}}) {
    data::BatchIterator x(*a, options, 2), y(*b, options, 2);
    data::Batch bx, by;
    while (x.next(bx)) {
      REQUIRE(y.next(by));
      CHECK(at::equal(bx.images, by.images));
      CHECK(at::equal(bx.labels, by.labels));
    }
  }
  CHECK(data::channel_statistics(files.train).mean == data::channel_statistics(memory.train).mean);
}

TEST_CASE("runs train on a folder of varying PNGs and JPEGs, and predict reads new files") {
  testing::TempDir dir;
  write_dataset(dir, 24);
  dir.write("exp.yaml", R"(name: own
model:
  layers:
    - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
    - relu
    - adaptive_avgpool2d: {output_size: 1}
    - dense: {units: 3}
data:
  dataset: folder
  root: )" + dir.path().string() +
                            R"(
  channels: 3
  resize: [12, 14]
  batch_size: 8
  val_split: 0.25
  normalize: auto
  augment: [random_crop: {size: 10, padding: 1}, horizontal_flip]
train:
  epochs: 6
  optimizer: {type: adam, lr: 0.05}
  early_stopping: {metric: val_loss, patience: 1, min_delta: 10}
  device: cpu
)");
  std::string out;
  REQUIRE(testing::run_dlx("run " + (dir.path() / "exp.yaml").string() + " --runs " +
                               (dir.path() / "runs").string(),
                           out) == 0);
  fs::path run;
  for (const auto& e : fs::directory_iterator(dir.path() / "runs/own")) run = e.path();
  const Json report = Json::parse(read_file(run / "report.json"));
  CHECK(report["status"] == "completed");
  // min_delta 10 is never met: early stopping ends the run after patience + 1 epochs.
  CHECK(report["epochs"].size() == 2);
  CHECK_FALSE(report["stopped_early"].get<std::string>().empty());
  CHECK(report["epochs"][0].contains("val_acc"));
  CHECK(fs::exists(run / "checkpoint_best.pt"));
  CHECK(report["model"]["input"] == Json::array({3, 10, 10}));
  CHECK(report["data"]["class_names"] == Json::array({"a", "b", "c"}));
  CHECK(report["data"]["image_size"] == Json::array({12, 14}));
  CHECK(report["data"]["normalize"]["mean"].size() == 3);
  CHECK(report["data"]["cache"] == "memory");

  // predict --files: every file gets a known class with a probability, top 2 in order.
  const std::string a = (dir.path() / "test/a/0.png").string();
  const std::string c = (dir.path() / "test/c/1.JPG").string();
  REQUIRE(testing::run_dlx("predict " + run.string() + " --files " + a + " " + c + " --top 2",
                           out) == 0);
  CHECK(out.find("top predictions (probability)") != std::string::npos);
  CHECK(out.find(a + "  ") != std::string::npos);
  CHECK(out.find(c + "  ") != std::string::npos);
  REQUIRE(testing::run_dlx("predict " + run.string() + " --files " + a + " nope.png", out) == 1);
  CHECK(out.find("nope.png") != std::string::npos);
}
