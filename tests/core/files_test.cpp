#include <doctest/doctest.h>

#include "framework/core/error.h"
#include "framework/core/files.h"
#include "tests/helpers.h"

using namespace dlx;

TEST_CASE("an atomic write replaces the file whole and leaves no temporary behind") {
  testing::TempDir dir;
  auto file = dir.path() / "report.json";
  write_file_atomic(file, "first");
  write_file_atomic(file, "second");
  CHECK(read_file(file) == "second");
  CHECK_FALSE(std::filesystem::exists(dir.path() / "report.json.tmp"));
}

TEST_CASE("writing into a missing folder is a runtime error naming the file") {
  testing::TempDir dir;
  std::string message =
      testing::runtime_error([&] { write_file_atomic(dir.path() / "no/such/x", "y"); });
  CHECK(message.find("no/such/x.tmp: cannot create") != std::string::npos);
}
