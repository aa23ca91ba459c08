// PNG and JPEG files to and from uint8 tensors, through Debian's libspng and libjpeg-turbo
// (TurboJPEG): no decoder of our own. Every failure is a RuntimeError naming the file.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>

namespace dlx::data {

/// What a file's header says: channels as stored (1 gray, 3 colour; alpha is dropped) and size.
struct ImageHeader {
  int64_t channels = 0, height = 0, width = 0;
};

/// Whether the name ends in .png, .jpg or .jpeg, in any case.
bool is_image_name(const std::filesystem::path& file);

/// The header of the PNG or JPEG held in `bytes` (read from `file`, named in errors). A file
/// that is neither, or whose header is damaged, is a RuntimeError.
ImageHeader read_image_header(const std::string& bytes, const std::string& file);

/// Decodes into uint8 [channels, H, W], converting gray to RGB (copies) or RGB to gray (luma,
/// ITU-R 601, as PIL's convert("L")). Corrupt or truncated data is a RuntimeError naming `file`.
at::Tensor decode_image(const std::string& bytes, int64_t channels, const std::string& file);

/// Encodes uint8 [C, H, W] (C 1 or 3) as PNG or as JPEG of `quality`: for tests and tools.
std::string encode_png(const at::Tensor& image);
std::string encode_jpeg(const at::Tensor& image, int quality = 90);

}  // namespace dlx::data
