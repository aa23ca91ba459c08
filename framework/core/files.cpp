#include "framework/core/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "framework/core/error.h"

namespace dlx {

std::string read_file(const std::filesystem::path& path) {
  // A device or a pipe (/dev/zero, /dev/stdin) would never end: only regular files are read.
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec)) {
    throw RuntimeError(path.string() + ": cannot read: not a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RuntimeError(path.string() + ": cannot read: " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

uint64_t fnv1a(std::string_view bytes) {
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : bytes) hash = (hash ^ c) * 1099511628211ull;
  return hash;
}

namespace {
[[noreturn]] void fail(const std::filesystem::path& path, const char* what) {
  throw RuntimeError(path.string() + ": cannot " + what + ": " + std::strerror(errno));
}
}  // namespace

void write_file_atomic(const std::filesystem::path& path, std::string_view contents) {
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(temporary, "create");
  const char* data = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    ssize_t written = ::write(fd, data, left);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      int saved = errno;
      ::close(fd);
      ::unlink(temporary.c_str());
      errno = saved;
      fail(temporary, "write");
    }
    data += written;
    left -= static_cast<size_t>(written);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(temporary.c_str());
    fail(temporary, "flush");
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) fail(path, "replace");
}

}  // namespace dlx
