// The two kinds of failure dlx reports, and where a user's mistake was made.
// A ConfigError is the user's to fix (exit 2); a RuntimeError is the world's (exit 1).
// Both are thrown inside the library and caught once, in main, which prints what() as one line.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dlx {

/// A place in a user's file: `experiments/a.yaml:12:5`. Line and column are 1-based; 0 means
/// unknown.
struct Location {
  std::string file;
  int line = 0;
  int column = 0;

  std::string str() const;
};

/// A mistake in the user's input: one line naming where, which key, what was expected and found.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(Location where, std::string key, std::string expected, std::string found,
              std::string hint = {});
  /// For problems that are not "expected X, found Y" (e.g. a shape that cannot work).
  static ConfigError plain(Location where, std::string key, std::string message);

  const Location& where() const { return where_; }
  const std::string& key() const { return key_; }

 private:
  ConfigError(Location where, std::string key, std::string line, int);
  Location where_;
  std::string key_;
};

/// A failure of the environment or the run (missing data, unwritable folder, no GPU): exit 1.
class RuntimeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The one-line text of any exception: its first line. LibTorch's errors (c10::Error) put their
/// C++ backtrace and context on the lines after the message, so core needs no LibTorch for this.
std::string error_message(const std::exception& e);

/// A problem with one key of a config, found by a check that does not know where the key was
/// written: the caller locates the key and throws (ConfigError::plain(locate(key), key, message)).
struct Problem {
  std::string key;      // dotted: "data.augment[0].random_crop.size"
  std::string message;  // what is wrong, without the key
};

/// The candidate closest to `word` by edit distance, or "" when none is plausibly meant.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

/// "did you mean 'x'?" when a close candidate exists, else "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

/// Joins with ", ".
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

}  // namespace dlx
