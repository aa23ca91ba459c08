// Shared by the tests: scratch folders, files written on the spot, and catching a ConfigError's
// one-line message.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "framework/core/error.h"
#include "framework/nn/builder.h"
#include "framework/report/report.h"

namespace dlx::testing {

/// The repository's root, for the shipped models and experiments.
std::filesystem::path source_dir();

/// Sets an environment variable (or unsets it, for nullopt) until the object dies, then puts back
/// what was there: a test must not leave the process's environment changed for the next.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::optional<std::string>& value);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> before_;
};

/// A fresh, empty folder under the system's temporary folder, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  /// Writes `text` to path()/name and returns the full path.
  std::filesystem::path write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

/// Runs `body`; returns the message of the `Error` it threw, or "" if none was thrown.
template <class Error>
std::string message_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
inline std::string config_error(const std::function<void()>& body) {
  return message_of<ConfigError>(body);
}
inline std::string runtime_error(const std::function<void()>& body) {
  return message_of<RuntimeError>(body);
}

/// How many times `needle` occurs in `text`.
inline size_t count_of(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++count;
  return count;
}

/// An 8-bit RGB(A) picture, as a browser's screenshot is: `channels` bytes per pixel.
struct Image {
  int width = 0, height = 0, channels = 0;
  std::vector<unsigned char> pixels;
  /// Pixels within `tolerance` (per channel) of the colour 0xRRGGBB.
  int64_t count_near(unsigned rgb, int tolerance) const;
};
/// Decodes a non-interlaced 8-bit RGB or RGBA PNG file; throws std::runtime_error otherwise.
Image read_png(const std::filesystem::path& file);

/// Runs a shell command; returns its exit code and fills `output` with stdout+stderr.
int run_command(const std::string& command, std::string& output);

/// An epoch's record with the figures a chart draws (the others 0).
inline report::EpochRecord epoch_record(int64_t epoch, double train_loss, double test_acc) {
  report::EpochRecord r;
  r.epoch = epoch, r.train_loss = train_loss, r.test_acc = test_acc;
  return r;
}

/// Ends the running test as skipped, saying why. Under ctest, which runs each test in a process of
/// its own, the process exits with 77, which ctest counts as skipped (SKIP_RETURN_CODE); run by
/// hand, the test returns after a message.
#define DLX_SKIP(why)                                      \
  do {                                                     \
    const std::string dlx_skip_reason_ = std::string(why); \
    ::dlx::testing::end_as_skipped(dlx_skip_reason_);      \
    MESSAGE("skipped: " << dlx_skip_reason_);              \
    return;                                                \
  } while (0)
/// Exits with 77 when the tests run under ctest (DLX_TEST_SKIP_CODE set); returns otherwise.
void end_as_skipped(const std::string& why);

/// Skips the test in the sanitizer build, where ctest reports it skipped; the release build runs
/// it. For tests whose time goes to LibTorch's or Python's work, not to code of ours that no other
/// test runs under the sanitizers: `why` names what does (docs/development.md, "Tests and CI").
#ifdef __SANITIZE_ADDRESS__
#define DLX_RELEASE_ONLY(why) DLX_SKIP(std::string("release build only, not under ASan: ") + why)
#else
#define DLX_RELEASE_ONLY(why) (void)0
#endif

/// A model of one layer (its list item as YAML text, `conv2d: {...}`) built for inputs of `shape`.
nn::Network one_layer(const std::string& item, const nn::Shape& shape);

/// Perturbs the 1-d parameters (biases, batch norm's scale and shift) so that none keeps its
/// initial constant, and gives batch norm running statistics by one training-mode pass: weights
/// with which a wrong layer shows in the output.
void make_weights_telling(nn::Network& net);

/// A small network, built with the global generator seeded to 1: a 3x3 convolution with ReLU,
/// batch norm and a dense layer, for 1x8x8 inputs and 3 classes.
nn::Network small_conv_net();

/// The dlx program under test.
std::string dlx_binary();
/// The build folder, and the cmake and cpack that configured it (for the install tests).
std::string build_dir();
std::string cmake_program();
std::string cpack_program();
/// Runs `dlx ARGS` like run_command.
int run_dlx(const std::string& args, std::string& output);

}  // namespace dlx::testing
