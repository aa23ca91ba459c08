// `dlx resume`: continues a run in its folder from its last checkpoint, after checking that the
// config it would continue with is the run's own (compared by identity, so that keys a newer dlx
// added with their old behaviour as default make no difference).
#include <fmt/format.h>

#include <ostream>

#include "framework/core/error.h"
#include "framework/core/files.h"
#include "framework/core/system.h"
#include "framework/experiment/experiment.h"
#include "framework/train/checkpoint.h"
#include "framework/train/environment.h"
#include "framework/train/run.h"
#include "framework/train/session.h"

namespace dlx::train {

namespace fs = std::filesystem;
using report::RunStatus;

namespace {

void check_resumable(const fs::path& folder, const report::RunReport& old,
                     const config::Json& resolved, bool force) {
  const Location where{(folder / "config.yaml").string()};
  std::vector<std::string> changed = config::identity_differences(old.config, resolved);
  if (!changed.empty() && !force) {
    throw ConfigError::plain(where, "",
                             "the config differs from the run's in " + join(changed) +
                                 "; pass --force to resume with it anyway");
  }
  if (report::is_final(old.status) && !force) {
    throw ConfigError::plain(where, "",
                             std::string("the run is ") + report::status_name(old.status) +
                                 "; to train it longer, --set train.epochs=N --force");
  }
  // A data-parallel run's mid-epoch position counts steps of all its ranks' examples together.
  const bool mid_epoch = old.interrupted_at && old.interrupted_at->step > 0;
  if (old.environment.world_size > 1 && mid_epoch && !force) {
    throw ConfigError::plain(where, "",
                             "the run trained in " + std::to_string(old.environment.world_size) +
                                 " processes and stopped mid-epoch, which one process cannot "
                                 "continue exactly; pass --force to continue anyway");
  }
}

}  // namespace

RunOutcome resume_run(const fs::path& folder, const std::vector<config::Override>& overrides,
                      bool force, const RunOptions& options, std::ostream& out) {
  report::RunReport old = report::read_run_report(folder);
  config::ExperimentSpec spec = experiment::load(folder / "config.yaml", overrides);
  config::Json resolved = config::resolved_json(spec);
  check_resumable(folder, old, resolved, force);

  Session session(spec, options, out);
  session.folder = folder;
  session.device = resolve_device(options.device.empty() ? spec.train.device : options.device);
  const int threads = configure_threads(options.threads ? options.threads : spec.train.threads);
  // train_state.pt is saved last: without it the run stopped before its first checkpoint, and
  // starting it over from its seed gives exactly what the uninterrupted run would have.
  const bool over = !fs::exists(folder / "train_state.pt");
  nn::Network net = over ? seeded_network(spec) : experiment::build_network(spec);
  if (!over) load_weights(net, read_weights(last_weights_file(folder)));
  if (force) write_file_atomic(folder / "config.yaml", config::to_yaml(resolved));

  report::RunReport& r = session.report;
  r = old;
  r.status = RunStatus::kRunning;
  r.error.clear();
  r.config = resolved;
  r.config_hash = config::config_identity(resolved);
  r.environment = environment_record(session.device, threads);
  r.resumed.push_back({options.command, utc_now()});
  r.interrupted_at.reset();
  session.earlier_wall_seconds = old.final ? old.final->wall_seconds : 0.0;
  out << fmt::format("resume: {} ({} threads)", folder.string(), threads) << std::endl;
  if (over) {
    out << "no checkpoint yet (the run stopped before its first): starting it over" << std::endl;
    r.test_classes.reset(), r.diverged_at.reset(), r.final.reset(), r.stopped_early.clear();
    r.epochs.clear();
    write_file_atomic(folder / "metrics.jsonl", "");
  }
  return session.execute(net, !over);
}

}  // namespace dlx::train
