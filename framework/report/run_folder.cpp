#include "framework/report/run_folder.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "framework/core/error.h"

namespace dlx::report {

namespace fs = std::filesystem;

fs::path runs_root(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("DLX_RUNS"); env && *env) return env;
  return "runs";
}

fs::path claim_run_folder(const fs::path& folder) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw RuntimeError(folder.string() + ": cannot create the run folder: " + ec.message());
  if (fs::exists(folder / "report.json")) {
    throw RuntimeError(folder.string() + ": already holds a run (report.json)");
  }
  return folder;
}

fs::path create_run_folder(const fs::path& root, const std::string& experiment) {
  fs::path parent = root / experiment;
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw RuntimeError(parent.string() + ": cannot create the run folder: " + ec.message());
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  // mkdir either creates the folder or fails: two runs in the same second get different suffixes.
  for (int attempt = 0; attempt < 1000; ++attempt) {
    std::string id = stamp;
    if (attempt) id += "-" + std::to_string(attempt);
    fs::path folder = parent / id;
    if (::mkdir(folder.c_str(), 0755) == 0) return folder;
    if (errno != EEXIST) {
      throw RuntimeError(folder.string() +
                         ": cannot create the run folder: " + std::strerror(errno));
    }
  }
  throw RuntimeError(parent.string() + ": too many runs started in one second");
}

}  // namespace dlx::report
