#include "tests/helpers.h"

#include <sys/wait.h>
#include <unistd.h>

#include <zlib.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <ATen/ops/rand.h>

#include "framework/core/error.h"

namespace dlx::testing {

nn::Network small_conv_net() {
  TempDir dir;
  config::ModelSpec spec = config::load_model(dir.write("m.yaml", R"(input: [1, 8, 8]
layers:
  - conv2d: {out_channels: 4, kernel_size: 3, activation: relu}
  - batchnorm2d
  - dense: {units: 3}
)"));
  at::manual_seed(1);
  return nn::build_network(spec, spec.input);
}

nn::Network one_layer(const std::string& item, const nn::Shape& shape) {
  TempDir dir;
  auto file = dir.write("m.yaml", "layers:\n  - " + item + "\n");
  return nn::build_network(config::load_model(file), shape);
}

void make_weights_telling(nn::Network& net) {
  torch::NoGradGuard no_grad;
  for (auto& p : net.body->parameters())
    if (p.dim() == 1) p.uniform_(0.5, 1.5);
  std::vector<int64_t> sizes{4};
  sizes.insert(sizes.end(), net.input.begin(), net.input.end());
  net.body->train();
  net.body->forward(at::rand(sizes));
  net.body->eval();
}

void end_as_skipped(const std::string& why) {
  const char* code = std::getenv("DLX_TEST_SKIP_CODE");
  if (!code) return;
  std::printf("skipped: %s\n", why.c_str());
  std::fflush(stdout);
  std::_Exit(std::atoi(code));
}

namespace fs = std::filesystem;

fs::path source_dir() {
  return DLX_SOURCE_DIR;
}

ScopedEnv::ScopedEnv(std::string name, const std::optional<std::string>& value)
    : name_(std::move(name)) {
  if (const char* now = std::getenv(name_.c_str())) before_ = now;
  if (value)
    setenv(name_.c_str(), value->c_str(), 1);
  else
    unsetenv(name_.c_str());
}

ScopedEnv::~ScopedEnv() {
  if (before_)
    setenv(name_.c_str(), before_->c_str(), 1);
  else
    unsetenv(name_.c_str());
}

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "dlx-test-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

fs::path TempDir::write(const std::string& name, const std::string& text) const {
  fs::path file = path_ / name;
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
  return file;
}

namespace {

uint32_t big_endian(const std::string& bytes, size_t at) {
  return uint32_t(uint8_t(bytes[at])) << 24 | uint32_t(uint8_t(bytes[at + 1])) << 16 |
         uint32_t(uint8_t(bytes[at + 2])) << 8 | uint32_t(uint8_t(bytes[at + 3]));
}

int paeth(int a, int b, int c) {
  int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

// Undoes PNG's per-row filters (each row: a filter byte, then the bytes) into image.pixels.
void unfilter(const std::vector<unsigned char>& raw, Image& image) {
  const size_t stride = size_t(image.width) * image.channels, bpp = image.channels;
  image.pixels.assign(stride * image.height, 0);
  for (int y = 0; y < image.height; ++y) {
    const unsigned char* in = raw.data() + y * (stride + 1);
    unsigned char* row = image.pixels.data() + y * stride;
    const unsigned char* up = y ? row - stride : nullptr;
    for (size_t x = 0; x < stride; ++x) {
      int a = x >= bpp ? row[x - bpp] : 0, b = up ? up[x] : 0, c = up && x >= bpp ? up[x - bpp] : 0;
      int predictor[] = {0, a, b, (a + b) / 2, paeth(a, b, c)};
      if (in[0] > 4) throw std::runtime_error("PNG: bad filter type");
      row[x] = static_cast<unsigned char>(in[1 + x] + predictor[in[0]]);
    }
  }
}

}  // namespace

int64_t Image::count_near(unsigned rgb, int tolerance) const {
  const int want[] = {int(rgb >> 16 & 255), int(rgb >> 8 & 255), int(rgb & 255)};
  int64_t count = 0;
  for (size_t i = 0; i + 2 < pixels.size(); i += channels) {
    bool near = true;
    for (int c = 0; c < 3; ++c) near = near && std::abs(int(pixels[i + c]) - want[c]) <= tolerance;
    count += near;
  }
  return count;
}

Image read_png(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 33 || bytes.compare(1, 3, "PNG") != 0) throw std::runtime_error("not a PNG");
  Image image;
  std::string compressed;
  for (size_t at = 8; at + 8 <= bytes.size();) {
    const uint32_t length = big_endian(bytes, at);
    const std::string type = bytes.substr(at + 4, 4);
    if (type == "IHDR") {
      image.width = int(big_endian(bytes, at + 8)), image.height = int(big_endian(bytes, at + 12));
      const int depth = bytes[at + 16], color = bytes[at + 17], interlace = bytes[at + 20];
      if (depth != 8 || (color != 2 && color != 6) || interlace != 0)
        throw std::runtime_error("PNG: only 8-bit, non-interlaced RGB(A) is read here");
      image.channels = color == 6 ? 4 : 3;
    } else if (type == "IDAT") {
      compressed += bytes.substr(at + 8, length);
    }
    at += 12 + length;
  }
  std::vector<unsigned char> raw(size_t(image.height) * (size_t(image.width) * image.channels + 1));
  uLongf size = raw.size();
  if (uncompress(raw.data(), &size, reinterpret_cast<const Bytef*>(compressed.data()),
                 compressed.size()) != Z_OK ||
      size != raw.size())
    throw std::runtime_error("PNG: bad image data");
  unfilter(raw, image);
  return image;
}

int run_command(const std::string& command, std::string& output) {
  output.clear();
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return -1;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string dlx_binary() {
  return DLX_BINARY;
}

std::string build_dir() {
  return DLX_BUILD_DIR;
}

std::string cmake_program() {
  return DLX_CMAKE;
}

std::string cpack_program() {
  return DLX_CPACK;
}

int run_dlx(const std::string& args, std::string& output) {
  return run_command(dlx_binary() + " " + args, output);
}

}  // namespace dlx::testing
