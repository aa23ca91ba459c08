#include "framework/train/run.h"

#include <fmt/format.h>

#include <ostream>

#include "framework/core/files.h"
#include "framework/report/run_folder.h"
#include "framework/train/environment.h"
#include "framework/train/session.h"
#include "framework/train/weights.h"

namespace dlx::train {

RunOutcome run_experiment(config::ExperimentSpec spec, const RunOptions& options,
                          std::ostream& out) {
  nn::Network net = seeded_network(spec);
  // Read before the config is resolved: the file's content hash is part of the run's identity.
  if (!spec.model.weights.file.empty()) {
    const StartedFrom from =
        start_from_weights(net, spec.model.weights, spec.locate("model.weights"));
    spec.model.weights.hash = from.hash;
    out << fmt::format("weights: {} ({} tensors loaded, {} new)", from.file, from.loaded,
                       from.fresh.size())
        << std::endl;
    for (const auto& note : from.notes) out << "weights: " << note << std::endl;
  }
  config::Json resolved = config::resolved_json(spec);
  Session session(spec, options, out);
  session.device = resolve_device(options.device.empty() ? spec.train.device : options.device);
  const int threads = configure_threads(options.threads ? options.threads : spec.train.threads);

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
