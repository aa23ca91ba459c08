// sweep.json as a type: a sweep's points (label, swept values, folder, identity, status, final
// figures, error), rewritten atomically by the sweep as each run ends and read by `dlx compare`.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "framework/report/run_report.h"

namespace dlx::report {

inline constexpr const char* kSweepSchema = "dlx.sweep/1";

struct SweepPoint {
  std::string label;  // the point's folder name under the sweep's folder
  std::string file;   // its experiment file
  Json values;        // swept key -> value
  std::filesystem::path folder;
  std::string config_hash;
  std::optional<RunStatus> status;  // none: not started yet ("pending")
  std::optional<FinalRecord> final;
  std::string error;
};

struct SweepIndex {
  std::string name;
  std::string updated;
  std::vector<SweepPoint> points;

  Json to_json() const;
  /// A RuntimeError naming `origin` when `j` is not a sweep index.
  static SweepIndex from_json(const Json& j, const std::string& origin);
};

/// Reads folder/sweep.json, or nullopt when the folder has none.
std::optional<SweepIndex> read_sweep_index(const std::filesystem::path& folder);

/// Writes folder/sweep.json atomically, stamped with the time.
void write_sweep_index(const std::filesystem::path& folder, SweepIndex& index);

}  // namespace dlx::report
