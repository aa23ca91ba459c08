#include "framework/train/run.h"

#include <fmt/format.h>

#include <ostream>

#include "framework/core/files.h"
#include "framework/report/run_folder.h"
#include "framework/train/environment.h"
#include "framework/train/session.h"

namespace dlx::train {

RunOutcome run_experiment(config::ExperimentSpec spec, const RunOptions& options,
                          std::ostream& out) {
  config::Json resolved = config::resolved_json(spec);
  Session session(spec, options, out);
  session.device = resolve_device(options.device.empty() ? spec.train.device : options.device);
  const int threads = configure_threads(options.threads ? options.threads : spec.train.threads);
  nn::Network net = seeded_network(spec);

  if (session.writes()) {
    session.folder = options.folder.empty()
                         ? report::create_run_folder(options.runs_root, spec.name)
                         : report::claim_run_folder(options.folder);
    write_file_atomic(session.folder / "config.yaml", config::to_yaml(resolved));
  }
  report::RunReport& r = session.report;
  r.run_id = session.folder.filename().string();
  r.experiment = spec.name;
  r.config = resolved;
  r.config_hash = config::config_identity(resolved);
  r.command = options.command;
  r.environment = environment_record(session.device, threads);
  r.environment.world_size = options.rendezvous.world;
  if (options.rendezvous.world > 1) r.environment.backend = "gloo";
  r.model = model_record(net, spec.model.name);
  out << fmt::format("run: {} -> {}\nmodel: {}, {} parameters; device: {} ({} threads)", spec.name,
                     session.folder.string(), spec.model.name, net.parameters(),
                     session.device.str(), threads)
      << std::endl;
  return session.execute(net, false);
}

}  // namespace dlx::train
