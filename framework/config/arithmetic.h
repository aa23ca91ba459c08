// `${...}` in a model file: arithmetic on numbers and named values (a block's or a model's
// arguments, a repeat's index), + - * / // % and parentheses, by precedence, in double precision.
// In the config floor so that the fuzzer reaches it without LibTorch.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <string>

namespace dlx::config {

struct Arithmetic {
  double value = 0;
  std::string error;    // empty when the text is a valid expression with every name known
  std::string unknown;  // the first name without a value, if any
};

/// Evaluates `text` (without the `${` `}`); names are looked up in `values` (scalars only).
Arithmetic evaluate(const std::string& text, const std::map<std::string, YAML::Node>& values);

/// `text` with each name that has a scalar value replaced by that value in parentheses, the
/// others left for later (a repeat's index, put in by the repeat).
std::string with_known(const std::string& text, const std::map<std::string, YAML::Node>& values);

/// Whole numbers as integers (a width of 256, not 256.0); others as the shortest exact text.
std::string number_text_exact(double v);

}  // namespace dlx::config
