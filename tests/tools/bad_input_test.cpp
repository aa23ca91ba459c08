// Runs every case of the bad-input corpus (tests/fixtures/bad) through the real dlx program and
// checks that each gives its exit code and exactly its one line on stderr: never a crash, a hang,
// an uncaught exception's text or a run folder claiming success.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "framework/core/files.h"
#include "tests/helpers.h"

using namespace dlx;
namespace fs = std::filesystem;

namespace {

struct Case {
  fs::path file;
  std::string args, error, before;
  int exit_code = -1;
};

Case read_case(const fs::path& file) {
  Case c;
  c.file = file;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    auto value = [&](const char* key) {
      std::string prefix = std::string("# ") + key + ": ";
      return line.rfind(prefix, 0) == 0 ? line.substr(prefix.size()) : std::string();
    };
    if (auto v = value("args"); !v.empty()) c.args = v;
    if (auto v = value("error"); !v.empty()) c.error = v;
    if (auto v = value("before"); !v.empty()) c.before = v;
    if (auto v = value("exit"); !v.empty()) c.exit_code = std::stoi(v);
  }
  return c;
}

std::string substitute(std::string text, const std::string& key, const std::string& value) {
  for (size_t at = text.find(key); at != std::string::npos;
       at = text.find(key, at + value.size())) {
    text.replace(at, key.size(), value);
  }
  return text;
}

// '*' matches any run of characters; everything else literally.
bool matches(const std::string& pattern, const std::string& text) {
  size_t star = pattern.find('*');
  if (star == std::string::npos) return pattern == text;
  if (text.compare(0, star, pattern, 0, star) != 0) return false;
  const std::string rest = pattern.substr(star + 1);
  for (size_t at = star; at <= text.size(); ++at) {
    if (matches(rest, text.substr(at))) return true;
  }
  return false;
}

bool any_completed_report(const fs::path& root) {
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().filename() == "report.json" &&
        read_file(entry.path()).find("\"status\": \"completed\"") != std::string::npos) {
      return true;
    }
  }
  return false;
}

const fs::path& corpus() {
  static const fs::path folder = testing::source_dir() / "tests/fixtures/bad";
  return folder;
}

std::vector<fs::path> corpus_files() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(corpus())) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Runs every `parts`-th case from `part` on: the corpus is split so that ctest -j runs the parts
// side by side (one dlx process at a time in each, as a case may time its own). Each part is
// about fifty dlx processes, so it takes over 20 s (about 35 s in the release build, 80 s under
// ASan), most of it LibTorch's start-up in each process.
void run_corpus_part(size_t part, size_t parts) {
  const std::vector<fs::path> files = corpus_files();
  const fs::path& folder = corpus();
  for (size_t i = part; i < files.size(); i += parts) {
    const fs::path& file = files[i];
    Case c = read_case(file);
    CAPTURE(file.filename().string());
    REQUIRE(!c.args.empty());
    REQUIRE(!c.error.empty());
    testing::TempDir tmp;
    auto fill = [&](std::string text) {
      text = substitute(text, "{FILE}", file.filename().string());
      text = substitute(text, "{TMP}", tmp.path().string());
      return substitute(text, "{DLX}", testing::dlx_binary());
    };
    const std::string script = "cd '" + folder.string() + "' || exit 99\n" + fill(c.before) + "\n" +
                               testing::dlx_binary() + " " + fill(c.args) + " 2>'" +
                               (tmp.path() / "stderr").string() + "' >/dev/null\n";
    auto script_file = tmp.write("case.sh", script);
    std::string ignored;
    int code = testing::run_command("timeout 60 bash " + script_file.string(), ignored);
    CHECK(code == c.exit_code);
    std::string err = read_file(tmp.path() / "stderr");
    CHECK(std::count(err.begin(), err.end(), '\n') == 1);
    std::string line = err.substr(0, err.find('\n'));
    INFO("stderr: ", line);
    CHECK(matches(fill(c.error), line));
    if (c.args.rfind("run ", 0) == 0) CHECK_FALSE(any_completed_report(tmp.path()));
  }
}

}  // namespace

TEST_CASE("the bad-input corpus has its cases") {
  // Exactly: a case lost (deleted, renamed to another extension) fails here. A new case adds one.
  CHECK(corpus_files().size() == 191);
}
TEST_CASE("every case of the bad-input corpus gives its exit code and its one line (part 1)") {
  run_corpus_part(0, 3);
}
TEST_CASE("every case of the bad-input corpus gives its exit code and its one line (part 2)") {
  run_corpus_part(1, 3);
}
TEST_CASE("every case of the bad-input corpus gives its exit code and its one line (part 3)") {
  run_corpus_part(2, 3);
}
