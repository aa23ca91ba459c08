// A resolved config as YAML text: config.yaml in a run folder, which dlx reads back as it wrote it.
#include <algorithm>

#include "framework/config/experiment.h"

namespace dlx::config {

namespace {

bool all_scalars(const Json& j) {
  for (const auto& item : j)
    if (item.is_structured()) return false;
  return true;
}

void emit(YAML::Emitter& out, const Json& j) {
  if (j.is_object()) {
    out << (all_scalars(j) && !j.empty() ? YAML::Flow : YAML::Block) << YAML::BeginMap;
    for (const auto& [key, value] : j.items()) {
      out << YAML::Key << key << YAML::Value;
      emit(out, value);
    }
    out << YAML::EndMap;
  } else if (j.is_array()) {
    out << (all_scalars(j) ? YAML::Flow : YAML::Block) << YAML::BeginSeq;
    for (const auto& item : j) emit(out, item);
    out << YAML::EndSeq;
  } else if (j.is_string()) {
    // A string that YAML would read back as a number, bool or null must stay a string.
    // One with control characters (a "\0" escape in the file) is quoted, and never handed to
    // yaml-cpp's parser, which some NUL bytes make terminate the process.
    const std::string& s = j.get_ref<const std::string&>();
    bool ambiguous = s.empty() || std::any_of(s.begin(), s.end(), [](char c) {
                       return static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n';
                     });
    try {
      ambiguous = ambiguous || !to_json(YAML::Load(s)).is_string();
    } catch (const YAML::Exception&) {
      ambiguous = true;
    }
    out << (ambiguous ? YAML::DoubleQuoted : YAML::Auto) << s;
  } else if (j.is_null()) {
    out << YAML::Null;
  } else {
    out << j.dump();  // numbers in their shortest round-trip form
  }
}

}  // namespace

std::string to_yaml(const Json& resolved) {
  YAML::Emitter out;
  emit(out, resolved);
  return std::string(out.c_str()) + "\n";
}

}  // namespace dlx::config
