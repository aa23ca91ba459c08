#include "framework/report/report.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "framework/core/error.h"
#include "framework/core/files.h"

namespace dlx::report {

namespace {

// Writes each field; an empty optional is left out.
struct ToJson {
  Json& out;
  template <class T>
  void operator()(const char* name, const T& value) {
    out[name] = value;
  }
  template <class T>
  void optional(const char* name, const std::optional<T>& value) {
    if (value) out[name] = *value;
  }
  template <class T>
  void optional(const char* name, const T& value) {
    out[name] = value;
  }
};

// Reads each field: a missing required one is an error (json's out_of_range); an optional one
// missing, or null (a NaN written by an earlier dlx), keeps its default.
struct FromJson {
  const Json& in;
  template <class T>
  void operator()(const char* name, T& value) {
    value = in.at(name).get<T>();
  }
  template <class T>
  void optional(const char* name, std::optional<T>& value) {
    if (in.contains(name) && is_a<T>(in[name])) value = in[name].get<T>();
  }
  template <class T>
  void optional(const char* name, T& value) {
    if (in.contains(name) && is_a<T>(in[name])) value = in[name].get<T>();
  }
  template <class T>
  static bool is_a(const Json& j) {
    return std::is_integral_v<T> ? j.is_number_integer() : j.is_number();
  }
};

// Reads the floating-point field named `name`; the other fields are not figures.
struct Read {
  const std::string& name;
  std::optional<double> found;
  bool known = false;
  void operator()(const char* field, const double& value) { take(field, value); }
  template <class T>
  void operator()(const char*, const T&) {}
  void optional(const char* field, const std::optional<double>& value) {
    if (name == field) found = value, known = true;
  }
  void optional(const char* field, const double& value) { take(field, value); }
  template <class T>
  void optional(const char*, const T&) {}
  void take(const char* field, double value) {
    if (name == field) found = value, known = true;
  }
};

// Writes the floating-point field named `name`.
struct Write {
  const std::string& name;
  double value;
  bool known = false;
  void operator()(const char* field, double& member) { put(field, member); }
  template <class T>
  void operator()(const char*, T&) {}
  void optional(const char* field, std::optional<double>& member) {
    if (name == field) member = value, known = true;
  }
  void optional(const char* field, double& member) { put(field, member); }
  template <class T>
  void optional(const char*, T&) {}
  void put(const char* field, double& member) {
    if (name == field) member = value, known = true;
  }
};

}  // namespace

std::optional<double> EpochRecord::value(const std::string& name) const {
  Read read{name, std::nullopt};
  visit(read);
  if (read.known) return read.found;
  auto it = more.find(name);
  if (it != more.end()) return it->second;
  return std::nullopt;
}

void EpochRecord::set(const std::string& name, double value) {
  Write write{name, value};
  visit(write);
  if (!write.known) more[name] = value;
}

Json EpochRecord::to_json() const {
  Json j;
  ToJson out{j};
  visit(out);
  for (const auto& [name, value] : more) j[name] = value;
  return j;
}

EpochRecord EpochRecord::from_json(const Json& j) {
  EpochRecord r;
  FromJson in{j};
  r.visit(in);
  // What no field holds but looks like a figure ("<split>_<metric>") is a registered metric's.
  for (const auto& [name, value] : j.items()) {
    Read known{name, std::nullopt};
    r.visit(known);
    if (!value.is_number() || known.known) continue;
    for (const char* split : {"train_", "val_", "test_"})
      if (name.rfind(split, 0) == 0) r.more[name] = value.get<double>();
  }
  return r;
}

MetricsLog::MetricsLog(const std::filesystem::path& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "a");
  if (!file_) throw RuntimeError(path.string() + ": cannot open: " + std::strerror(errno));
}

MetricsLog::~MetricsLog() {
  if (file_) std::fclose(file_);
}

void MetricsLog::append(const EpochRecord& record) {
  // NaN is not JSON: a diverged epoch's loss is written as null.
  std::string line = record.to_json().dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  if (std::fputs(line.c_str(), file_) < 0 || std::fflush(file_) != 0 ||
      ::fsync(fileno(file_)) != 0) {
    throw RuntimeError(path_.string() + ": cannot write: " + std::strerror(errno));
  }
}

}  // namespace dlx::report
