#include "framework/core/error.h"

#include <algorithm>
#include <cctype>

namespace dlx {

std::string Location::str() const {
  std::string out = file.empty() ? "<input>" : file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  return out;
}

namespace {
std::string compose(const Location& where, const std::string& key, const std::string& body) {
  std::string line = where.str() + ": error: ";
  if (!key.empty()) line += key + ": ";
  return line + body;
}
}  // namespace

ConfigError::ConfigError(Location where, std::string key, std::string expected, std::string found,
                         std::string hint)
    : ConfigError(
          where, key,
          compose(where, key,
                  "expected " + expected + ", found " + found + (hint.empty() ? "" : "; " + hint)),
          0) {}

ConfigError::ConfigError(Location where, std::string key, std::string line, int)
    : std::runtime_error(std::move(line)), where_(std::move(where)), key_(std::move(key)) {}

ConfigError ConfigError::plain(Location where, std::string key, std::string message) {
  std::string line = compose(where, key, message);
  return ConfigError(std::move(where), std::move(key), std::move(line), 0);
}

std::string error_message(const std::exception& e) {
  const std::string text = e.what();
  return text.substr(0, text.find('\n'));
}

namespace {
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                  std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}
}  // namespace

namespace {
bool is_subsequence(std::string_view part, std::string_view whole) {
  size_t at = 0;
  for (char c : whole)
    if (at < part.size() && part[at] == c) ++at;
  return at == part.size();
}
}  // namespace

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::string::npos;
  for (const auto& candidate : candidates) {
    size_t d = edit_distance(word, candidate);
    if (d < best_distance) best_distance = d, best = candidate;
  }
  // Beyond a third of the word's length the "match" is a different word, not a typo.
  size_t limit = std::max<size_t>(2, word.size() / 3);
  if (best_distance <= limit) return best;
  // A shortened name ("kernel" for "kernel_size") is meant too.
  for (const auto& candidate : candidates) {
    if (word.size() >= 3 && candidate.compare(0, word.size(), word) == 0) return candidate;
  }
  // So is a name spelt out in full ("convolution2d" for "conv2d"): the candidate's letters in
  // order, with its start and its end.
  for (const auto& candidate : candidates) {
    if (candidate.size() >= 4 && word.size() > candidate.size() &&
        word.compare(0, 3, candidate, 0, 3) == 0 && word.back() == candidate.back() &&
        is_subsequence(candidate, word))
      return candidate;
  }
  return {};
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best = closest_match(word, candidates);
  return best.empty() ? std::string{} : "did you mean '" + best + "'?";
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += separator;
    out += items[i];
  }
  return out;
}

}  // namespace dlx
