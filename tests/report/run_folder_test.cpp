#include <doctest/doctest.h>

#include <set>

#include "framework/core/error.h"
#include "framework/report/run_folder.h"
#include "tests/helpers.h"

using namespace dlx;

TEST_CASE("run folders started in the same second never collide and sort by time") {
  testing::TempDir dir;
  std::set<std::string> ids;
  std::vector<std::filesystem::path> folders;
  for (int i = 0; i < 5; ++i) folders.push_back(report::create_run_folder(dir.path(), "exp"));
  for (const auto& f : folders) {
    ids.insert(f.filename().string());
    CHECK(f.parent_path() == dir.path() / "exp");
    CHECK(std::filesystem::is_directory(f));
  }
  CHECK(ids.size() == 5);
  CHECK(folders[0].filename().string().size() == 15);  // YYYYmmdd-HHMMSS
}

TEST_CASE("the runs root comes from the flag, then $DLX_RUNS, then ./runs") {
  {
    testing::ScopedEnv runs("DLX_RUNS", "/tmp/elsewhere");
    CHECK(report::runs_root("mine") == "mine");
    CHECK(report::runs_root("") == "/tmp/elsewhere");
  }
  testing::ScopedEnv none("DLX_RUNS", std::nullopt);
  CHECK(report::runs_root("") == "runs");
}

TEST_CASE("an unwritable runs root is a clear error") {
  testing::TempDir dir;
  auto file = dir.write("plain-file", "x");
  std::string message = testing::runtime_error([&] { report::create_run_folder(file, "exp"); });
  CHECK(message.rfind((file / "exp").string() + ": cannot create the run folder: ", 0) == 0);
}
