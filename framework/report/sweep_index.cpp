#include "framework/report/sweep_index.h"

#include "framework/core/error.h"
#include "framework/core/files.h"
#include "framework/core/system.h"

namespace dlx::report {

Json SweepIndex::to_json() const {
  Json list = Json::array();
  for (const auto& p : points) {
    list.push_back({{"label", p.label},
                    {"file", p.file},
                    {"values", p.values},
                    {"folder", p.folder.string()},
                    {"config_hash", p.config_hash},
                    {"status", p.status ? status_name(*p.status) : "pending"},
                    {"final", p.final ? p.final->to_json() : Json(nullptr)},
                    {"error", p.error.empty() ? Json(nullptr) : Json(p.error)}});
  }
  return {{"schema", kSweepSchema}, {"name", name}, {"updated", updated}, {"points", list}};
}

SweepIndex SweepIndex::from_json(const Json& j, const std::string& origin) {
  if (!j.is_object() || j.value("schema", "") != kSweepSchema || !j.contains("points") ||
      !j["points"].is_array())
    throw RuntimeError(origin + ": not a dlx sweep index");
  SweepIndex index{j.value("name", ""), j.value("updated", ""), {}};
  for (const auto& p : j["points"]) {
    if (!p.is_object()) throw RuntimeError(origin + ": a point is not a mapping");
    SweepPoint point;
    point.label = p.value("label", "");
    point.file = p.value("file", "");
    point.values = p.value("values", Json::object());
    point.folder = p.value("folder", "");
    point.config_hash = p.value("config_hash", "");
    point.status = parse_status(p.value("status", "pending"));
    if (p.contains("final") && p["final"].is_object())
      point.final = FinalRecord::from_json(p["final"]);
    if (p.contains("error") && p["error"].is_string()) point.error = p["error"];
    index.points.push_back(std::move(point));
  }
  return index;
}

std::optional<SweepIndex> read_sweep_index(const std::filesystem::path& folder) {
  const auto file = folder / "sweep.json";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return std::nullopt;
  return SweepIndex::from_json(Json::parse(read_file(file), nullptr, false), file.string());
}

void write_sweep_index(const std::filesystem::path& folder, SweepIndex& index) {
  index.updated = utc_now();
  write_file_atomic(folder / "sweep.json",
                    index.to_json().dump(2, ' ', false, Json::error_handler_t::replace) + "\n");
}

}  // namespace dlx::report
