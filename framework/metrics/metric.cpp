#include "framework/metrics/metric.h"

namespace dlx::metrics {

const std::vector<MetricEntry>& builtin_metrics() {
  static const std::vector<MetricEntry> table{
      {"acc", "accuracy: the share of examples whose highest logit is their label", true,
       [](const at::Tensor& logits, const at::Tensor& labels) {
         return logits.argmax(1).eq(labels).sum();
       }},
      {"loss", "the loss (train.loss), mean over the examples", /*higher_is_better=*/false, {}},
  };
  return table;
}

const std::vector<std::string>& splits() {
  static const std::vector<std::string> names{"train", "val", "test"};
  return names;
}

std::optional<MetricKey> parse_metric(const std::string& name) {
  for (const auto& split : splits()) {
    if (name.rfind(split + "_", 0) != 0) continue;
    const std::string rest = name.substr(split.size() + 1);
    for (const auto& m : builtin_metrics())
      if (m.name == rest) return MetricKey{split, &m};
  }
  return std::nullopt;
}

std::vector<std::string> criterion_names() {
  // Validation first: it is what a criterion should be.
  std::vector<std::string> names;
  for (const char* split : {"val", "train"}) {
    for (const auto& m : builtin_metrics()) names.push_back(std::string(split) + "_" + m.name);
  }
  return names;
}

MetricKey criterion(const std::string& name, const std::string& key, const Location& where) {
  const std::vector<std::string> names = criterion_names();
  for (const auto& n : names)
    if (n == name) return *parse_metric(name);
  if (const auto test = parse_metric(name)) {
    const std::string& m = test->metric->name;
    throw ConfigError::plain(where, key,
                             name +
                                 " is measured on the test split, which must not choose: use "
                                 "val_" +
                                 m + " (with data.val_split) or train_" + m);
  }
  throw ConfigError(where, key, "one of " + join(names), "'" + name + "'",
                    did_you_mean(name, names));
}

}  // namespace dlx::metrics
