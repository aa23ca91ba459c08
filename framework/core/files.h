// Whole-file reads and crash-safe writes. A reader of report.json or checkpoint.pt sees the old
// file or the new one, never half of one: writes go to a temporary file, are flushed, then renamed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace dlx {

/// Reads a whole file; a missing or unreadable file is a RuntimeError naming it.
std::string read_file(const std::filesystem::path& path);

/// FNV-1a, 64 bits: enough to tell contents apart (not for security).
uint64_t fnv1a(std::string_view bytes);

/// Writes `contents` to `path` atomically (temporary file, fsync, rename).
void write_file_atomic(const std::filesystem::path& path, std::string_view contents);

}  // namespace dlx
