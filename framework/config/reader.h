// The visitors that walk a spec's field table. Each spec struct declares its keys once, in a
// `template <class V> void visit(V& v)` member; Reader fills it from YAML (strictly: unknown keys,
// wrong types and bad values are ConfigErrors), JsonWriter writes it out resolved, and KeyLister
// lists keys with their defaults and comments for help texts.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "framework/config/codec.h"
#include "framework/config/tree.h"
#include "framework/core/error.h"

namespace dlx::config {

/// A spec's own key names (not those of its sections' keys), in declaration order.
class KeyNames {
 public:
  template <class S>
  static std::vector<std::string> of(S& spec) {
    KeyNames names;
    spec.visit(names);
    return names.keys_;
  }
  template <class T, class C = Check<T>>
  void field(const char* key, T&, const char*, const C& = {}) {
    keys_.push_back(key);
  }
  template <class T, class C = Check<T>>
  void required(const char* key, T&, const char*, const C& = {}) {
    keys_.push_back(key);
  }
  template <class S>
  void section(const char* key, S&, const char*) {
    keys_.push_back(key);
  }
  YAML::Node raw(const char* key, const char*, bool = true) {
    keys_.push_back(key);
    return {};
  }

 private:
  std::vector<std::string> keys_;
};

/// Reads one YAML mapping into a spec; call finish() after visiting to reject unclaimed keys.
class Reader {
 public:
  Reader(YAML::Node map, std::string path, std::shared_ptr<const Origins> origins);
  /// Reads the whole of `tree` into `spec`.
  template <class S>
  static void read(const Tree& tree, S& spec) {
    Reader(tree.root, "", tree.origins).read_spec(spec);
  }

  /// Reads this mapping into `spec`: unknown keys first (a misspelt key is the likelier
  /// mistake than the missing one it was meant to be), then every value.
  template <class S>
  void read_spec(S& spec) {
    reject_unknown(KeyNames::of(spec));
    spec.visit(*this);
    finish();
  }

  /// An optional key: left at its default when absent.
  template <class T>
  void field(const char* key, T& value, const char*, const Check<T>& check = {}) {
    claimed_.insert(key);
    YAML::Node node = entry(key);
    if (node) decode(key, node, value, check);
  }

  /// A key that must be given.
  template <class T>
  void required(const char* key, T& value, const char*, const Check<T>& check = {}) {
    claimed_.insert(key);
    YAML::Node node = entry(key);
    if (!node) throw missing(key, Codec<T>::name);
    decode(key, node, value, check);
  }

  /// A nested mapping, read by its own visit().
  template <class S>
  void section(const char* key, S& spec, const char*) {
    claimed_.insert(key);
    Reader(entry(key), child_path(path_, key), origins_).read_spec(spec);
  }

  /// A raw subtree kept for a later stage (model layers are read by the nn builder).
  YAML::Node raw(const char* key, const char*, bool = true) {
    claimed_.insert(key);
    return entry(key);
  }

  /// Rejects any key of the mapping that no field claimed.
  void finish() const;
  /// Rejects any key of the mapping not in `known`.
  void reject_unknown(const std::vector<std::string>& known) const;

  const std::string& path() const { return path_; }
  const std::shared_ptr<const Origins>& origins() const { return origins_; }
  Location locate(const std::string& key) const;
  Location locate_self() const { return origins_->locate(path_, map_); }
  ConfigError missing(const std::string& key, const std::string& expected) const;
  ConfigError invalid(const std::string& key, const std::string& expected,
                      const std::string& hint = {}) const;

 private:
  YAML::Node entry(const char* key) const;

  template <class T>
  void decode(const char* key, const YAML::Node& node, T& value, const Check<T>& check) {
    T parsed{};
    if constexpr (is_choice<T>::value) {
      if (!Codec<T>::decode(node, parsed)) {
        const std::vector<std::string> names = choice_names<T>();
        throw invalid(key, "one of " + join(names),
                      node.IsScalar() ? did_you_mean(node.Scalar(), names) : "");
      }
    } else if (!Codec<T>::decode(node, parsed)) {
      throw invalid(key, Codec<T>::name);
    }
    if (check.ok && !check.ok(parsed)) {
      if (check.choices.empty()) throw invalid(key, check.expected);
      throw invalid(key, "one of " + join(check.choices),
                    did_you_mean(node.Scalar(), check.choices));
    }
    value = std::move(parsed);
  }

  YAML::Node map_;
  std::string path_;
  std::shared_ptr<const Origins> origins_;
  std::set<std::string> claimed_;
};

/// Writes a spec as JSON in declaration order: the resolved config.
class JsonWriter {
 public:
  template <class S>
  static Json write(S& spec) {
    JsonWriter writer;
    spec.visit(writer);
    return writer.out_;
  }
  template <class T, class C = Check<T>>
  void field(const char* key, T& value, const char*, const C& = {}) {
    out_[key] = Codec<T>::encode(value);
  }
  template <class T, class C = Check<T>>
  void required(const char* key, T& value, const char* help, const C& check = {}) {
    field(key, value, help, check);
  }
  template <class S>
  void section(const char* key, S& spec, const char*) {
    out_[key] = write(spec);
  }
  YAML::Node raw(const char*, const char*, bool = true) { return {}; }
  Json& out() { return out_; }

 private:
  Json out_ = Json::object();
};

/// One documented key: its dotted name, default (JSON text, or "required") and comment.
struct KeyDoc {
  std::string key;
  std::string default_value;
  std::string help;
  std::vector<std::pair<std::string, std::string>> choices;  // a named choice's names and help

  /// The help with the choices spelt out: "the optimizer: sgd, adam or adamw".
  std::string full_help() const;
};

/// Lists a spec's keys, defaults and comments: the text of help pages and `dlx layers`.
class KeyLister {
 public:
  template <class S>
  static std::vector<KeyDoc> list(S& spec, const std::string& prefix = "") {
    KeyLister lister(prefix);
    spec.visit(lister);
    return lister.docs_;
  }
  template <class T, class C = Check<T>>
  void field(const char* key, T& value, const char* help, const C& = {}) {
    docs_.push_back({child_path(prefix_, key), Codec<T>::encode(value).dump(), help, {}});
    if constexpr (is_choice<T>::value) {
      for (const auto& c : Choices<T>::all()) docs_.back().choices.emplace_back(c.name, c.help);
    }
  }
  template <class T, class C = Check<T>>
  void required(const char* key, T&, const char* help, const C& = {}) {
    docs_.push_back({child_path(prefix_, key), "required", help, {}});
  }
  template <class S>
  void section(const char* key, S& spec, const char*) {
    auto inner = list(spec, child_path(prefix_, key));
    docs_.insert(docs_.end(), inner.begin(), inner.end());
  }
  YAML::Node raw(const char* key, const char* help, bool required = true) {
    docs_.push_back({child_path(prefix_, key), required ? "required" : "none", help, {}});
    return {};
  }

 private:
  explicit KeyLister(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string prefix_;
  std::vector<KeyDoc> docs_;
};

}  // namespace dlx::config
