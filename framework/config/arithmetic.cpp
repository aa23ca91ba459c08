#include "framework/config/arithmetic.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "framework/config/codec.h"

namespace dlx::config {

namespace {

using Values = std::map<std::string, YAML::Node>;

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// `${...}`'s arithmetic: numbers and names, + - * / // % and parentheses, by precedence. A
// family's widths and depths are computed from its arguments this way (ResNeXt's group width,
// a block's stochastic depth rate), as torchvision's builders compute them in Python.
class Expression {
 public:
  Expression(const std::string& text, const Values& values) : text_(text), values_(values) {}

  // The value, or a message saying what is wrong; `unknown` is set to a name with no value.
  double evaluate(std::string& error, std::string& unknown) {
    double v = sum();
    skip();
    if (error_.empty() && pos_ != text_.size()) fail("unexpected '" + text_.substr(pos_) + "'");
    error = error_;
    unknown = unknown_;
    return v;
  }

 private:
  void skip() {
    while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
  }
  bool take(const char* op) {
    skip();
    const size_t n = std::strlen(op);
    if (text_.compare(pos_, n, op) != 0) return false;
    if (n == 1 && op[0] == '/' && text_.compare(pos_, 2, "//") == 0) return false;
    pos_ += n;
    return true;
  }
  void fail(const std::string& why) {
    if (error_.empty()) error_ = why;
  }
  double sum() {
    double v = product();
    while (error_.empty()) {
      if (take("+"))
        v += product();
      else if (take("-"))
        v -= product();
      else
        break;
    }
    return v;
  }
  double product() {
    double v = unary();
    while (error_.empty()) {
      if (take("*")) {
        v *= unary();
      } else if (take("//") || take("/") || take("%")) {
        const char op = text_[pos_ - 1] == '/' && text_[pos_ - 2] == '/' ? 'f' : text_[pos_ - 1];
        const double d = unary();
        if (d == 0)
          fail("division by zero");
        else
          v = op == '/' ? v / d : op == 'f' ? std::floor(v / d) : v - d * std::floor(v / d);
      } else {
        break;
      }
    }
    return v;
  }
  double unary() {
    if (take("-")) return -unary();
    if (take("(")) {
      double v = sum();
      if (!take(")")) fail("a ')'");
      return v;
    }
    skip();
    const size_t begin = pos_;
    if (pos_ < text_.size() &&
        (std::isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.')) {
      while (pos_ < text_.size() &&
             (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.'))
        ++pos_;
      return number(text_.substr(begin, pos_ - begin));
    }
    while (pos_ < text_.size() && is_name_char(text_[pos_])) ++pos_;
    const std::string name = text_.substr(begin, pos_ - begin);
    if (name.empty()) {
      fail(pos_ < text_.size() ? "unexpected '" + text_.substr(pos_) + "'" : "a value at the end");
      return 0;
    }
    auto it = values_.find(name);
    if (it == values_.end()) {
      if (unknown_.empty()) unknown_ = name;
      fail("no value named " + name);
      return 0;
    }
    if (!it->second.IsScalar()) {
      fail(name + " is " + describe(it->second) + ", not a number");
      return 0;
    }
    return number(it->second.Scalar(), name);
  }
  double number(const std::string& text, const std::string& name = "") {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(v))
      fail((name.empty() ? "'" + text + "'" : name + " = '" + text + "'") + " is not a number");
    return v;
  }

  const std::string& text_;
  const Values& values_;
  size_t pos_ = 0;
  std::string error_, unknown_;
};

}  // namespace

Arithmetic evaluate(const std::string& text, const std::map<std::string, YAML::Node>& values) {
  Arithmetic out;
  out.value = Expression(text, values).evaluate(out.error, out.unknown);
  if (out.error.empty() && !std::isfinite(out.value))
    out.error = "the result is not a finite number";
  return out;
}

std::string with_known(const std::string& text, const Values& values) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const bool starts = std::isalpha(static_cast<unsigned char>(text[i])) || text[i] == '_';
    const bool inside = i > 0 && (is_name_char(text[i - 1]) || text[i - 1] == '.');
    if (!starts || inside) {
      out += text[i++];
      continue;
    }
    size_t end = i;
    while (end < text.size() && is_name_char(text[end])) ++end;
    const std::string name = text.substr(i, end - i);
    auto it = values.find(name);
    out += it != values.end() && it->second.IsScalar() ? "(" + it->second.Scalar() + ")" : name;
    i = end;
  }
  return out;
}

std::string number_text_exact(double v) {
  if (std::floor(v) == v && std::fabs(v) < 9e15) return std::to_string(int64_t(v));
  char text[32];
  for (int digits = 1; digits <= 17; ++digits) {  // the shortest text that reads back as v
    std::snprintf(text, sizeof text, "%.*g", digits, v);
    if (std::strtod(text, nullptr) == v) break;
  }
  return text;
}

}  // namespace dlx::config
