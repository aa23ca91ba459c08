// A config's resolved form, its defaults, and its identity: the values that differ from the
// defaults, which name a run and let a sweep recognise its points.
#include <cstdio>

#include "framework/config/experiment.h"
#include "framework/core/files.h"

namespace dlx::config {

Json resolved_json(ExperimentSpec& spec) {
  return JsonWriter::write(spec);
}

const Json& default_json() {
  static const Json defaults = [] {
    ExperimentSpec spec;
    return resolved_json(spec);
  }();
  return defaults;
}

namespace {
Json pruned(const Json& value, const Json& fallback) {
  if (!value.is_object() || !fallback.is_object()) return value;
  Json out = Json::object();
  for (const auto& [key, child] : value.items()) {
    if (!fallback.contains(key)) {
      out[key] = child;
      continue;
    }
    // Compared in canonical form (keys sorted), so key order never makes a difference.
    if (nlohmann::json(child) == nlohmann::json(fallback[key])) continue;
    Json inner = pruned(child, fallback[key]);
    if (!(inner.is_object() && inner.empty() && child.is_object())) out[key] = inner;
  }
  return out;
}
}  // namespace

namespace {
Json merged(const Json& fallback, const Json& value) {
  if (!value.is_object() || !fallback.is_object()) return value;
  Json out = fallback;
  for (const auto& [key, child] : value.items())
    out[key] = out.contains(key) ? merged(out[key], child) : child;
  return out;
}
}  // namespace

Json with_defaults(const Json& config) {
  return merged(default_json(), config);
}

Json non_default_json(const Json& resolved) {
  return pruned(resolved, default_json());
}

std::string config_identity(const Json& resolved) {
  // Canonical form: sorted keys, compact. FNV-1a is enough to tell configurations apart.
  // A string that is not UTF-8 (YAML allows any bytes) is hashed with replacement characters
  // rather than thrown on.
  const std::string canonical = nlohmann::json(non_default_json(resolved))
                                    .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(fnv1a(canonical)));
  return text;
}

namespace {
void collect_differences(const Json& a, const Json& b, const std::string& path,
                         std::vector<std::string>& out) {
  if (a.is_object() && b.is_object()) {
    for (const auto& [key, value] : a.items()) {
      collect_differences(value, b.contains(key) ? b[key] : Json(), child_path(path, key), out);
    }
    for (const auto& [key, value] : b.items()) {
      if (!a.contains(key)) out.push_back(child_path(path, key));
    }
  } else if (a.is_array() && b.is_array() && a.size() == b.size()) {
    // Element by element, so that mappings inside (a layer's arguments) compare by key, not by
    // the order a tool wrote them in; a difference names the list.
    std::vector<std::string> inside;
    for (size_t i = 0; i < a.size(); ++i) collect_differences(a[i], b[i], path, inside);
    if (!inside.empty()) out.push_back(path);
  } else if (a != b) {
    out.push_back(path);
  }
}
}  // namespace

std::vector<std::string> differing_keys(const Json& a, const Json& b) {
  std::vector<std::string> out;
  collect_differences(a, b, "", out);
  return out;
}

std::vector<std::string> identity_differences(const Json& a, const Json& b) {
  return differing_keys(non_default_json(a), non_default_json(b));
}

}  // namespace dlx::config
