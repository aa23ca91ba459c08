// dlx as an installed tool: `cmake --install` into a prefix, the .deb that CPack builds (its
// fields, its files, and the program it holds), and the completion script and manual page, which
// must cover every subcommand because they are written from the program's own definition.
#include <doctest/doctest.h>

#include <sstream>

#include "framework/core/files.h"
#include "tests/helpers.h"

using namespace dlx;
namespace fs = std::filesystem;

namespace {

// The subcommands `dlx --help` lists (the lines after "SUBCOMMANDS:", first word of each).
std::vector<std::string> subcommands() {
  std::string help;
  REQUIRE(testing::run_dlx("--help", help) == 0);
  std::vector<std::string> names;
  std::istringstream lines(help);
  bool in_list = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("SUBCOMMANDS:") != std::string::npos || line == "Subcommands:") {
      in_list = true;
      continue;
    }
    if (!in_list || line.empty()) continue;
    std::istringstream words(line);
    std::string first;
    words >> first;
    names.push_back(first);
  }
  REQUIRE(names.size() >= 10);
  return names;
}

// A one-epoch run of a shipped example on a small synthetic dataset, from `cwd`.
std::string example_run(const std::string& dlx, const fs::path& experiments, const fs::path& cwd) {
  return "cd " + cwd.string() + " && " + dlx + " run " +
         (experiments / "quick-fashion-mnist.yaml").string() +
         " --runs runs --set data.dataset=synthetic --set data.synthetic.train_size=64 "
         "--set data.synthetic.test_size=32 --set train.epochs=1 --set train.device=cpu";
}

}  // namespace

TEST_CASE("cmake --install puts a dlx that works from any folder, with its examples") {
  testing::TempDir dir;
  const fs::path prefix = dir.path() / "prefix";
  std::string out;
  REQUIRE(testing::run_command(testing::cmake_program() + " --install " + testing::build_dir() +
                                   " --prefix " + prefix.string(),
                               out) == 0);
  const std::string dlx = (prefix / "bin/dlx").string();
  for (const char* file : {"share/man/man1/dlx.1", "share/bash-completion/completions/dlx",
                           "share/zsh/vendor-completions/_dlx", "share/doc/dlx/README.md",
                           "share/doc/dlx/keys.md", "share/dlx/models/lenet.yaml"}) {
    CAPTURE(file);
    CHECK(fs::exists(prefix / file));
  }
  fs::create_directories(dir.path() / "elsewhere");
  REQUIRE(testing::run_command("cd " + dir.path().string() + "/elsewhere && " + dlx + " --help",
                               out) == 0);
  CHECK(out.find("Subcommands:") != std::string::npos);
  REQUIRE(testing::run_command(dlx + " --version", out) == 0);
  CHECK(out.find("dlx " DLX_VERSION " (LibTorch ") == 0);
  const fs::path examples = prefix / "share/dlx/experiments";
  REQUIRE(testing::run_command(dlx + " validate " +
                                   (examples / "lenet-fashion-mnist.yaml").string() +
                                   " --set data.dataset=synthetic",
                               out) == 0);
  CHECK(out.find("ok: lenet-fashion-mnist") == 0);
  REQUIRE(testing::run_command(example_run(dlx, examples, dir.path() / "elsewhere"), out) == 0);
  CHECK(out.find("status: completed") != std::string::npos);
}

TEST_CASE("the .deb depends on Debian's packages, holds dlx and its files, and its dlx runs") {
  // Its time is cpack's and dpkg-shlibdeps' (44 s under ASan); the dlx it packs is the one every
  // other test runs under ASan.
  DLX_RELEASE_ONLY("the packed dlx is the one the other tests run");
  testing::TempDir dir;
  std::string out;
  REQUIRE(testing::run_command(testing::cpack_program() + " --config " + testing::build_dir() +
                                   "/CPackConfig.cmake -B " + dir.path().string(),
                               out) == 0);
  const fs::path deb = dir.path() / ("dlx_" DLX_VERSION "_amd64.deb");
  REQUIRE(fs::exists(deb));
  REQUIRE(testing::run_command("dpkg-deb -f " + deb.string() + " Depends Recommends", out) == 0);
  // Computed by dpkg-shlibdeps from what dlx links: LibTorch, the decoders, yaml-cpp, fmt.
  for (const char* package :
       {"libtorch1.13", "libturbojpeg0", "libspng0", "libyaml-cpp0.7", "libfmt9", "libstdc++6"}) {
    CAPTURE(package);
    CHECK(out.find(std::string(package) + " (") != std::string::npos);
  }
  CHECK(out.find("Recommends: libopenblas0-openmp, dataset-fashion-mnist") != std::string::npos);
  REQUIRE(testing::run_command("dpkg-deb -c " + deb.string(), out) == 0);
  for (const char* file :
       {"./usr/bin/dlx", "./usr/share/man/man1/dlx.1",
        "./usr/share/bash-completion/completions/dlx",
        "./usr/share/dlx/experiments/quick-fashion-mnist.yaml", "./usr/share/doc/dlx/README.md"}) {
    CAPTURE(file);
    CHECK(out.find(std::string(file) + "\n") != std::string::npos);
  }
  const fs::path unpacked = dir.path() / "root";
  REQUIRE(testing::run_command("dpkg-deb -x " + deb.string() + " " + unpacked.string(), out) == 0);
  const std::string dlx = (unpacked / "usr/bin/dlx").string();
  REQUIRE(testing::run_command(dlx + " --version", out) == 0);
  CHECK(out.find("dlx " DLX_VERSION) == 0);
  fs::create_directories(dir.path() / "work");
  REQUIRE(testing::run_command(
              example_run(dlx, unpacked / "usr/share/dlx/experiments", dir.path() / "work"), out) ==
          0);
  CHECK(out.find("status: completed") != std::string::npos);
}

TEST_CASE("completion and the manual page cover every subcommand, and completion completes") {
  const std::vector<std::string> commands = subcommands();
  const std::string bash = read_file(fs::path(testing::build_dir()) / "tools/dlx/dlx.bash");
  const std::string man = read_file(fs::path(testing::build_dir()) / "tools/dlx/dlx.1");
  for (const auto& c : commands) {
    CAPTURE(c);
    CHECK(bash.find("    " + c + ")\n") != std::string::npos);
    CHECK(man.find(".SS \"dlx " + c) != std::string::npos);
  }
  std::string zsh;
  REQUIRE(testing::run_dlx("completion zsh", zsh) == 0);
  CHECK(zsh.find("bashcompinit") != std::string::npos);

  // Bash itself, asked as it asks when Tab is pressed.
  testing::TempDir dir;
  dir.write("exp.yaml", "");
  dir.write("notes.txt", "");
  dir.write("shot.png", "");
  fs::create_directories(dir.path() / "runs");
  const fs::path script = dir.write("dlx.bash", bash);
  auto complete = [&](const std::string& words) {
    std::string out;
    const int n = int(std::count(words.begin(), words.end(), ' '));
    REQUIRE(testing::run_command(
                "cd " + dir.path().string() + " && bash -c 'source " + script.string() +
                    "; COMP_WORDS=(" + words + "); COMP_CWORD=" + std::to_string(n) +
                    "; _dlx; printf \"%s\\n\" \"${COMPREPLY[@]}\" | sort | tr \"\\n\" \" \"'",
                out) == 0);
    return out;
  };
  CHECK(complete("dlx r") == "resume run ");
  CHECK(complete("dlx run \"\"") == "exp.yaml runs ");
  CHECK(complete("dlx run --f") == "--folder ");
  CHECK(complete("dlx predict runs --files \"\"") == "runs shot.png ");
  CHECK(complete("dlx resume \"\"") == "runs ");
}
