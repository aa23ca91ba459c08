// Named choices: the registries of the names a config key may take (datasets, optimizers,
// schedulers, inits, activations). Each kind is an enum with one table of names and help texts;
// a spec holds the enum, so the code that acts on it switches over every value (the compiler
// warns of a missing case) and no unknown name can fall through to a default.
//
// How to add a choice: add the enum value, add its line to the kind's table (name and help), and
// handle it where the compiler then asks (-Wswitch).
#pragma once

#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace dlx::config {

template <class E>
struct Choice {
  E value;
  const char* name;  // as written in YAML
  const char* help;  // one line for help texts and the generated docs
};

/// Specialised for each kind: `static const std::vector<Choice<E>>& all();`, in the order
/// help texts list them.
template <class E>
struct Choices;

template <class E, class = void>
struct is_choice : std::false_type {};
template <class E>
struct is_choice<E, std::void_t<decltype(Choices<E>::all())>> : std::true_type {};

/// The names of a kind's choices, in table order.
template <class E>
std::vector<std::string> choice_names() {
  std::vector<std::string> names;
  for (const auto& c : Choices<E>::all()) names.push_back(c.name);
  return names;
}

/// The name of `value` ("sgd").
template <class E>
const char* choice_name(E value) {
  for (const auto& c : Choices<E>::all())
    if (c.value == value) return c.name;
  return "?";  // unreachable while every value has a line in its table (a test checks)
}

/// The choice named `name`, or nullopt.
template <class E>
std::optional<E> parse_choice(const std::string& name) {
  for (const auto& c : Choices<E>::all())
    if (name == c.name) return c.value;
  return std::nullopt;
}

}  // namespace dlx::config
