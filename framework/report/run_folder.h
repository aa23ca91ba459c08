// Where runs go and how their folders are named: runs/<experiment>/<run-id>, run-id time-ordered
// (UTC, to the second) and made unique by creating the folder atomically (a suffix on collision).
#pragma once

#include <filesystem>
#include <string>

namespace dlx::report {

/// The runs root: `flag` if given, else $DLX_RUNS, else ./runs.
std::filesystem::path runs_root(const std::string& flag);

/// Uses `folder` as a run folder: creates it if missing; one that already holds a run
/// (a report.json) is a RuntimeError.
std::filesystem::path claim_run_folder(const std::filesystem::path& folder);

/// Creates and returns a new, empty run folder runs_root/experiment/<run-id>.
/// An unwritable root is a RuntimeError naming it.
std::filesystem::path create_run_folder(const std::filesystem::path& root,
                                        const std::string& experiment);

}  // namespace dlx::report
