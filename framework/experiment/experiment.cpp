#include "framework/experiment/experiment.h"

#include "framework/core/error.h"
#include "framework/data/dataset.h"
#include "framework/metrics/loss.h"
#include "framework/metrics/metric.h"

namespace dlx::experiment {

namespace {

// The names of the train section that registries outside the config floor hold.
void check_names(const config::ExperimentSpec& spec) {
  metrics::make_loss(spec.train.loss, spec.locate("train.loss.type"));
  const std::string key = "train.early_stopping.metric";
  metrics::criterion(spec.train.early_stopping.metric, key, spec.locate(key));
}

// Keeping or judging the EMA's weights needs train.ema.
void check_ema(const config::ExperimentSpec& spec) {
  if (spec.train.ema.on()) return;
  const std::string select = config::choice_name(spec.train.select);
  std::string key, name;
  if (select.rfind("ema", 0) == 0) key = "train.select", name = select;
  const auto stop = metrics::parse_metric(spec.train.early_stopping.metric);
  if (stop && stop->ema) key = "train.early_stopping.metric", name = stop->name();
  if (key.empty()) return;
  throw ConfigError::plain(spec.locate(key), key,
                           name + " is of train.ema's average: set train.ema.decay (e.g. 0.9999)");
}

// Choosing or stopping on a validation metric needs a validation split.
void check_validation(const config::ExperimentSpec& spec) {
  if (data::has_validation(spec.data)) return;
  const auto select = spec.train.select;
  const bool select_val =
      select == config::SelectKind::kValAcc || select == config::SelectKind::kValLoss ||
      select == config::SelectKind::kEmaValAcc || select == config::SelectKind::kEmaValLoss;
  const auto& stop = spec.train.early_stopping;
  std::string key, name;
  if (select_val) key = "train.select", name = config::choice_name(spec.train.select);
  if (stop.patience > 0 && metrics::parse_metric(stop.metric)->needs_validation())
    key = "train.early_stopping.metric", name = stop.metric;
  if (key.empty()) return;
  throw ConfigError::plain(spec.locate(key), key,
                           name + " needs a validation split: set data.val_split (e.g. 0.1)");
}

// The data decides what the model sees; a model that says otherwise was meant for other data.
void check_input(const config::ExperimentSpec& spec, const data::Geometry& data) {
  if (spec.model.input.empty() || spec.model.input == data.input) return;
  if (data.images_decided)
    throw ConfigError::plain({}, "model.input",
                             config::Json(spec.model.input).dump() + " differs from " +
                                 config::Json(data.input).dump() + " as the images in " +
                                 spec.data.root +
                                 " give it (set data.resize or data.channels, or change the "
                                 "model's input)");
  throw ConfigError(
      spec.locate("model.input"), "model.input",
      config::Json(data.input).dump() + " as the data gives it (dataset " + spec.data.dataset +
          ", resize " +
          config::Json(config::Codec<config::Size2>::encode(spec.data.resize)).dump() + ")",
      config::Json(spec.model.input).dump(), "set data.resize or change the model's input");
}

// A builder model takes the data's classes and image size, as torchvision's builders take
// num_classes and any image size the architecture allows; the channels must still agree.
void follow_data(config::ExperimentSpec& spec, const data::Geometry& data,
                 std::vector<std::string>* notes) {
  YAML::Node args = spec.model.args;
  if (!args || !args.IsMap() || !args["num_classes"] || !args["num_classes"].IsScalar()) return;
  auto note = [&](const std::string& line) {
    if (notes) notes->push_back(line);
  };
  const std::string classes = std::to_string(data.classes);
  if (args["num_classes"].Scalar() != classes) {
    note("model.args.num_classes: " + args["num_classes"].Scalar() + " -> " + classes +
         ", the classes of " + spec.data.dataset + " (the head's outputs follow them)");
    args["num_classes"] = classes;
  }
  auto& input = spec.model.input;
  if (input.size() == 3 && data.input.size() == 3 && input[0] == data.input[0] &&
      input != data.input) {
    note("model.input: " + config::Json(input).dump() + " -> " + config::Json(data.input).dump() +
         ", the data's images");
    input = data.input;
  }
}

}  // namespace

config::ExperimentSpec load(const std::filesystem::path& path,
                            const std::vector<config::Override>& overrides,
                            std::vector<std::string>* notes) {
  config::ExperimentSpec spec = config::load_experiment(path, overrides);
  check_names(spec);
  data::check_data(spec.data);
  const data::Geometry data = data::geometry(spec.data);
  metrics::recorded_metrics(spec.train.metrics, data.classes, "train.metrics",
                            spec.locate("train.metrics"));
  follow_data(spec, data, notes);
  check_input(spec, data);
  // Set only when the config decides it, as it always has: a shape read from a folder's images
  // would change the run's identity (its non-default values).
  if (!data.images_decided) spec.model.input = data.input;
  check_validation(spec);
  check_ema(spec);
  return spec;
}

nn::Network build_network(const config::ExperimentSpec& spec) {
  const data::Geometry data = data::geometry(spec.data);
  check_input(spec, data);
  nn::Network net = nn::build_network(spec.model, data.input);
  if (net.output() != nn::Shape{data.classes}) {
    const auto& last = spec.model.layers.back();
    throw ConfigError(last.where, last.path,
                      "the last layer to output " + nn::format_shape({data.classes}) + " for the " +
                          std::to_string(data.classes) + " classes of " + spec.data.dataset,
                      nn::format_shape(net.output()) + " from " + net.layers.back().name);
  }
  return net;
}

}  // namespace dlx::experiment
