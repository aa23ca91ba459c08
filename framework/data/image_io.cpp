#include "framework/data/image_io.h"

#include <ATen/ops/empty.h>
#include <spng.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "framework/core/error.h"

namespace dlx::data {

namespace {

// Images larger than this on a side are refused before anything is allocated for them.
constexpr uint32_t kMaxSide = 1 << 15;

bool is_png(const std::string& b) {
  return b.size() >= 8 && b.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0;
}
bool is_jpeg(const std::string& b) {
  return b.size() >= 3 && uint8_t(b[0]) == 0xFF && uint8_t(b[1]) == 0xD8 && uint8_t(b[2]) == 0xFF;
}

[[noreturn]] void fail(const std::string& file, const std::string& what) {
  throw RuntimeError(file + ": " + what);
}

// ---- PNG (libspng) ----

struct SpngFree {
  void operator()(spng_ctx* ctx) const { spng_ctx_free(ctx); }
};
using Spng = std::unique_ptr<spng_ctx, SpngFree>;

Spng png_reader(const std::string& bytes, const std::string& file, spng_ihdr& ihdr) {
  Spng ctx(spng_ctx_new(0));
  if (!ctx) fail(file, "out of memory for the PNG decoder");
  spng_set_image_limits(ctx.get(), kMaxSide, kMaxSide);
  int err = spng_set_png_buffer(ctx.get(), bytes.data(), bytes.size());
  if (!err) err = spng_get_ihdr(ctx.get(), &ihdr);
  if (err) fail(file, std::string("not a readable PNG (") + spng_strerror(err) + ")");
  return ctx;
}

int64_t png_channels(const spng_ihdr& ihdr) {
  return ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE ||
                 ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA
             ? 1
             : 3;
}

// Luma of an [H, W, 3] image as PIL's convert("L") computes it, in 16-bit fixed point.
at::Tensor luma(const at::Tensor& rgb) {
  at::Tensor out = at::empty({rgb.size(0), rgb.size(1), 1}, at::kByte);
  const uint8_t* in = rgb.data_ptr<uint8_t>();
  uint8_t* o = out.data_ptr<uint8_t>();
  for (int64_t i = 0, n = out.numel(); i < n; ++i, in += 3)
    o[i] = uint8_t((in[0] * 19595u + in[1] * 38470u + in[2] * 7471u + 0x8000u) >> 16);
  return out;
}

at::Tensor decode_png(const std::string& bytes, int64_t channels, const std::string& file) {
  spng_ihdr ihdr{};
  Spng ctx = png_reader(bytes, file, ihdr);
  // Gray sources of up to 8 bits decode straight to gray; everything else goes through RGB.
  const bool direct_gray =
      channels == 1 && ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE && ihdr.bit_depth <= 8;
  const int fmt = direct_gray ? SPNG_FMT_G8 : SPNG_FMT_RGB8;
  size_t size = 0;
  int err = spng_decoded_image_size(ctx.get(), fmt, &size);
  if (err) fail(file, std::string("cannot decode this PNG (") + spng_strerror(err) + ")");
  at::Tensor hwc =
      at::empty({int64_t(ihdr.height), int64_t(ihdr.width), direct_gray ? 1 : 3}, at::kByte);
  err = spng_decode_image(ctx.get(), hwc.data_ptr<uint8_t>(), size, fmt, 0);
  if (err) fail(file, std::string("corrupt or truncated PNG (") + spng_strerror(err) + ")");
  if (channels == 1 && !direct_gray) hwc = luma(hwc);
  return hwc.permute({2, 0, 1}).contiguous();
}

// ---- JPEG (TurboJPEG) ----

struct TjFree {
  void operator()(void* h) const { tjDestroy(h); }
};
using Tj = std::unique_ptr<void, TjFree>;

// One decompressor per thread, kept: making one costs about as much as decoding a small image.
// After an error it is made anew: a handle that failed on one file was seen to fail the next.
thread_local Tj kept_decompressor;

tjhandle decompressor(const std::string& file) {
  if (!kept_decompressor) kept_decompressor.reset(tjInitDecompress());
  if (!kept_decompressor) fail(file, "cannot start the JPEG decoder");
  return kept_decompressor.get();
}

[[noreturn]] void fail_jpeg(tjhandle tj, const std::string& file, const std::string& what) {
  const std::string why = tjGetErrorStr2(tj);
  kept_decompressor.reset();
  fail(file, what + " (" + why + ")");
}

tjhandle jpeg_reader(const std::string& bytes, const std::string& file, ImageHeader& header) {
  tjhandle tj = decompressor(file);
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                          &w, &h, &subsamp, &colorspace) != 0)
    fail_jpeg(tj, file, "not a readable JPEG");
  if (w <= 0 || h <= 0 || uint32_t(w) > kMaxSide || uint32_t(h) > kMaxSide)
    fail(file, "a JPEG of " + std::to_string(w) + "x" + std::to_string(h) + " pixels");
  header = {colorspace == TJCS_GRAY ? 1 : 3, h, w};
  return tj;
}

at::Tensor decode_jpeg(const std::string& bytes, int64_t channels, const std::string& file) {
  ImageHeader header;
  tjhandle tj = jpeg_reader(bytes, file, header);
  // Colour goes through RGB to gray, as for PNG, so that a gray run sees what PIL's
  // convert("L") gives (the luma stored in the file differs where RGB clips).
  const bool direct_gray = channels == 1 && header.channels == 1;
  at::Tensor hwc = at::empty({header.height, header.width, direct_gray ? 1 : 3}, at::kByte);
  // Warnings (a truncated file) stop the decoder: nothing trains on half an image.
  if (tjDecompress2(tj, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    hwc.data_ptr<uint8_t>(), int(header.width), 0, int(header.height),
                    direct_gray ? TJPF_GRAY : TJPF_RGB,
                    TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS) != 0)
    fail_jpeg(tj, file, "corrupt or truncated JPEG");
  if (channels == 1 && !direct_gray) hwc = luma(hwc);
  return hwc.permute({2, 0, 1}).contiguous();
}

void check_image(const at::Tensor& image) {
  if (image.dim() != 3 || (image.size(0) != 1 && image.size(0) != 3) ||
      image.scalar_type() != at::kByte)
    throw RuntimeError("encode: expected uint8 [1 or 3, H, W], found " +
                       std::to_string(image.dim()) + " dimensions");
}

}  // namespace

bool is_image_name(const std::filesystem::path& file) {
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

ImageHeader read_image_header(const std::string& bytes, const std::string& file) {
  if (bytes.empty()) fail(file, "an empty file, not an image");
  if (is_png(bytes)) {
    spng_ihdr ihdr{};
    png_reader(bytes, file, ihdr);
    return {png_channels(ihdr), int64_t(ihdr.height), int64_t(ihdr.width)};
  }
  if (is_jpeg(bytes)) {
    ImageHeader header;
    jpeg_reader(bytes, file, header);
    return header;
  }
  fail(file, "neither a PNG nor a JPEG image (by its first bytes)");
}

at::Tensor decode_image(const std::string& bytes, int64_t channels, const std::string& file) {
  if (is_png(bytes)) return decode_png(bytes, channels, file);
  if (is_jpeg(bytes)) return decode_jpeg(bytes, channels, file);
  read_image_header(bytes, file);  // throws the reason
  return {};
}

std::string encode_png(const at::Tensor& image) {
  check_image(image);
  at::Tensor hwc = image.permute({1, 2, 0}).contiguous();
  Spng ctx(spng_ctx_new(SPNG_CTX_ENCODER));
  spng_set_option(ctx.get(), SPNG_ENCODE_TO_BUFFER, 1);
  spng_ihdr ihdr{};
  ihdr.width = uint32_t(image.size(2));
  ihdr.height = uint32_t(image.size(1));
  ihdr.bit_depth = 8;
  ihdr.color_type = image.size(0) == 1 ? SPNG_COLOR_TYPE_GRAYSCALE : SPNG_COLOR_TYPE_TRUECOLOR;
  spng_set_ihdr(ctx.get(), &ihdr);
  int err = spng_encode_image(ctx.get(), hwc.data_ptr<uint8_t>(), size_t(hwc.numel()), SPNG_FMT_PNG,
                              SPNG_ENCODE_FINALIZE);
  size_t len = 0;
  void* buffer = err ? nullptr : spng_get_png_buffer(ctx.get(), &len, &err);
  if (!buffer) throw RuntimeError(std::string("PNG encoding failed: ") + spng_strerror(err));
  std::string out(static_cast<const char*>(buffer), len);
  free(buffer);
  return out;
}

std::string encode_jpeg(const at::Tensor& image, int quality) {
  check_image(image);
  at::Tensor hwc = image.permute({1, 2, 0}).contiguous();
  Tj tj(tjInitCompress());
  unsigned char* buffer = nullptr;
  unsigned long len = 0;
  const bool gray = image.size(0) == 1;
  if (tjCompress2(tj.get(), hwc.data_ptr<uint8_t>(), int(image.size(2)), 0, int(image.size(1)),
                  gray ? TJPF_GRAY : TJPF_RGB, &buffer, &len, gray ? TJSAMP_GRAY : TJSAMP_420,
                  quality, 0) != 0)
    throw RuntimeError(std::string("JPEG encoding failed: ") + tjGetErrorStr2(tj.get()));
  std::string out(reinterpret_cast<const char*>(buffer), len);
  tjFree(buffer);
  return out;
}

}  // namespace dlx::data
