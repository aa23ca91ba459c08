// How each C++ type that a config key may have is read from YAML and written to JSON, and the
// checks a value must pass. A type gets config support by specialising Codec (nn does so for
// LibTorch's ExpandingArray).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <vector>

#include "framework/config/choices.h"

namespace dlx::config {

using Json = nlohmann::ordered_json;

/// Converts YAML to JSON, typing scalars the way a reader would (int, then float, bool, string).
Json to_json(const YAML::Node& node);

/// Describes a node for "found ..." in messages: 'abc', a list, a mapping, nothing.
std::string describe(const YAML::Node& node);

/// decode() returns false when the node has the wrong type; name is what messages call the type.
template <class T, class = void>
struct Codec;

template <>
struct Codec<bool> {
  static constexpr const char* name = "true or false";
  static bool decode(const YAML::Node& n, bool& v) {
    return n.IsScalar() && YAML::convert<bool>::decode(n, v);
  }
  static Json encode(bool v) { return v; }
};

template <>
struct Codec<int64_t> {
  static constexpr const char* name = "an integer";
  static bool decode(const YAML::Node& n, int64_t& v) {
    return n.IsScalar() && YAML::convert<int64_t>::decode(n, v);
  }
  static Json encode(int64_t v) { return v; }
};

template <>
struct Codec<double> {
  static constexpr const char* name = "a number";
  static bool decode(const YAML::Node& n, double& v) {
    return n.IsScalar() && YAML::convert<double>::decode(n, v);
  }
  static Json encode(double v) { return v; }
};

template <>
struct Codec<std::string> {
  static constexpr const char* name = "a string";
  static bool decode(const YAML::Node& n, std::string& v) {
    if (!n.IsScalar()) return false;
    v = n.Scalar();
    return true;
  }
  static Json encode(const std::string& v) { return v; }
};

template <class T>
struct Codec<std::vector<T>> {
  static constexpr const char* name = "a list";
  static bool decode(const YAML::Node& n, std::vector<T>& v) {
    if (!n.IsSequence()) return false;
    std::vector<T> out(n.size());
    for (size_t i = 0; i < n.size(); ++i)
      if (!Codec<T>::decode(n[i], out[i])) return false;
    v = std::move(out);
    return true;
  }
  static Json encode(const std::vector<T>& v) {
    Json out = Json::array();
    for (const auto& item : v) out.push_back(Codec<T>::encode(item));
    return out;
  }
};

/// A named choice (see choices.h) is written by its name; the Reader checks the name.
template <class E>
struct Codec<E, std::enable_if_t<is_choice<E>::value>> {
  static constexpr const char* name = "a name";
  static bool decode(const YAML::Node& n, E& v) {
    if (!n.IsScalar()) return false;
    auto parsed = parse_choice<E>(n.Scalar());
    if (parsed) v = *parsed;
    return parsed.has_value();
  }
  static Json encode(E v) { return choice_name(v); }
};

/// A condition on a value, with the words for it ("a number > 0").
template <class T>
struct Check {
  Check() = default;
  Check(std::function<bool(const T&)> ok_, std::string expected_,
        std::vector<std::string> choices_ = {})
      : ok(std::move(ok_)), expected(std::move(expected_)), choices(std::move(choices_)) {}

  std::function<bool(const T&)> ok;
  std::string expected;
  std::vector<std::string> choices;  // for names: the message suggests the closest one
};

inline Check<double> positive() {
  return {[](const double& v) { return v > 0; }, "a number > 0"};
}
inline Check<double> non_negative() {
  return {[](const double& v) { return v >= 0; }, "a number >= 0"};
}
/// A number as a person writes it: 0, 1, 0.5, 1e-05.
std::string number_text(double v);

inline Check<double> in_range(double lo, double hi) {
  return {[=](const double& v) { return v >= lo && v <= hi; },
          "a number in [" + number_text(lo) + ", " + number_text(hi) + "]"};
}
inline Check<double> below(double lo, double hi) {
  return {[=](const double& v) { return v >= lo && v < hi; },
          "a number in [" + number_text(lo) + ", " + number_text(hi) + ")"};
}
inline Check<int64_t> at_least(int64_t lo) {
  return {[=](const int64_t& v) { return v >= lo; }, "an integer >= " + std::to_string(lo)};
}
inline Check<std::string> one_of(std::vector<std::string> names) {
  return {[names](const std::string& v) {
            for (const auto& n : names)
              if (n == v) return true;
            return false;
          },
          "one of", std::move(names)};
}

}  // namespace dlx::config
