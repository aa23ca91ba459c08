#include "framework/train/predict.h"

#include "framework/core/error.h"
#include "framework/data/batches.h"
#include "framework/data/dataset.h"
#include "framework/nn/builder.h"
#include "framework/train/checkpoint.h"
#include "framework/train/run.h"
#include "framework/train/trainer.h"

namespace dlx::train {

std::vector<Prediction> predict_run(const std::filesystem::path& folder,
                                    const PredictOptions& options) {
  if (options.split != "test" && options.split != "train") {
    throw ConfigError({"--split"}, "", "test or train", "'" + options.split + "'");
  }
  config::ExperimentSpec spec = config::load_experiment(folder / "config.yaml");
  nn::Network net = nn::build_network(spec);
  load_weights(net, read_weights(folder / "checkpoint.pt"));
  const c10::Device device =
      resolve_device(options.device.empty() ? spec.train.device : options.device);
  net.body->to(device);
  data::Dataset dataset = data::load_dataset(spec.data);
  const data::Split& split = options.split == "test" ? dataset.test : dataset.train;

  data::BatchOptions in_order{256, false, 0, spec.data.resize, device};
  data::BatchIterator batches(split, in_order, 0);
  std::vector<Prediction> rows;
  data::Batch batch;
  int64_t index = 0;
  while (int64_t(rows.size()) < options.count && batches.next(batch)) {
    at::Tensor predicted = predict(net, batch.images).to(at::kCPU);
    at::Tensor truth = batch.labels.to(at::kCPU);
    for (int64_t i = 0; i < truth.size(0) && int64_t(rows.size()) < options.count; ++i, ++index) {
      int64_t t = truth[i].item<int64_t>(), p = predicted[i].item<int64_t>();
      if (options.misses_only && t == p) continue;
      rows.push_back({index, dataset.class_names[t], dataset.class_names[p]});
    }
  }
  return rows;
}

}  // namespace dlx::train
