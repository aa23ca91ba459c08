#include "framework/train/predict.h"

#include <ATen/ops/arange.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/stack.h>
#include <fmt/format.h>

#include "framework/core/error.h"
#include "framework/data/batches.h"
#include "framework/data/dataset.h"
#include "framework/data/folder.h"
#include "framework/experiment/experiment.h"
#include "framework/nn/builder.h"
#include "framework/report/run_report.h"
#include "framework/train/checkpoint.h"
#include "framework/train/environment.h"
#include "framework/train/trainer.h"

namespace dlx::train {

namespace {
std::vector<std::vector<uint8_t>> pixels_of(const data::Split& split, int64_t index) {
  at::Tensor image = split.images_at(at::arange(index, index + 1, at::kLong))[0][0].contiguous();
  auto a = image.accessor<uint8_t, 2>();
  std::vector<std::vector<uint8_t>> rows(image.size(0), std::vector<uint8_t>(image.size(1)));
  for (int64_t y = 0; y < image.size(0); ++y)
    for (int64_t x = 0; x < image.size(1); ++x) rows[y][x] = a[y][x];
  return rows;
}
}  // namespace

std::string predictions_svg(const std::vector<Prediction>& rows) {
  constexpr int kScale = 4, kColumns = 5, kTitle = 30, kGap = 10;
  const int side = rows.empty() || rows[0].pixels.empty() ? 28 : int(rows[0].pixels.size());
  const int cell_w = side * kScale + kGap, cell_h = side * kScale + kTitle + kGap;
  const int columns = std::min<int>(kColumns, std::max<int>(1, int(rows.size())));
  const int lines = (int(rows.size()) + columns - 1) / columns;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" "
      "font-size=\"11\" shape-rendering=\"crispEdges\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n",
      columns * cell_w + kGap, lines * cell_h + kGap);
  for (size_t i = 0; i < rows.size(); ++i) {
    const Prediction& r = rows[i];
    const int left = kGap + int(i % columns) * cell_w, top = kGap + int(i / columns) * cell_h;
    const char* color = r.truth == r.predicted ? "black" : "#d62728";
    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" fill=\"{}\">{}</text><text x=\"{}\" y=\"{}\" "
        "fill=\"{}\">{}</text>\n",
        left, top + 11, color, r.truth, left, top + 24, color, r.predicted);
    for (size_t y = 0; y < r.pixels.size(); ++y) {
      for (size_t x = 0; x < r.pixels[y].size(); ++x) {
        const int v = 255 - r.pixels[y][x];  // dark garments on white, as the chapter's plots
        svg += fmt::format(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"rgb({},{},{})\"/>",
            left + int(x) * kScale, top + kTitle + int(y) * kScale, kScale, kScale, v, v, v);
      }
    }
    svg += "\n";
  }
  return svg + "</svg>\n";
}

namespace {
// The run's network with the weights it kept, on `device`.
nn::Network kept_network(const std::filesystem::path& folder, const config::ExperimentSpec& spec,
                         c10::Device device) {
  nn::Network net = experiment::build_network(spec);
  load_weights(net, read_weights(kept_weights_file(folder)));
  net.body->to(device);
  net.precision = usable_precision(spec.train.precision, device);
  return net;
}
}  // namespace

std::vector<FilePrediction> predict_files(const std::filesystem::path& folder,
                                          const std::vector<std::string>& files, int64_t top,
                                          const std::string& device_name) {
  config::ExperimentSpec spec = experiment::load(folder / "config.yaml");
  const report::RunReport run = report::read_run_report(folder);
  if (!run.data) throw RuntimeError((folder / "report.json").string() + ": no data section");
  const report::DataRecord& data = *run.data;
  const c10::Device device = resolve_device(device_name.empty() ? spec.train.device : device_name);
  nn::Network net = kept_network(folder, spec, device);
  // Each file as the run's batches were made: decoded to the stored channels and size, then
  // resized, brought to the augmented size and normalised as evaluation batches are.
  const int64_t channels = net.input[0];
  // Reports written before image_size existed come from runs without augmentation.
  const config::Size2 stored = data.image_size.size() == 2
                                   ? config::Size2{data.image_size[0], data.image_size[1]}
                                   : config::Size2{net.input[1], net.input[2]};
  std::vector<at::Tensor> images;
  for (const auto& f : files) images.push_back(data::load_image(f, channels, stored));
  const data::BatchOptions eval =
      data::batch_options(spec.data, device, {data.mean, data.std}, /*training=*/false);
  at::Tensor x = data::prepare_images(at::stack(images).to(device), eval);
  at::Tensor probs = at::softmax(logits(net, x), 1).to(at::kCPU);
  const int64_t k = std::min<int64_t>(top, probs.size(1));
  auto [values, indices] = probs.topk(k, 1);
  std::vector<FilePrediction> out;
  for (size_t i = 0; i < files.size(); ++i) {
    FilePrediction p{files[i], {}};
    for (int64_t j = 0; j < k; ++j)
      p.top.emplace_back(data.class_names.at(indices[i][j].item<int64_t>()),
                         values[i][j].item<double>());
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<Prediction> predict_run(const std::filesystem::path& folder,
                                    const PredictOptions& options) {
  if (options.split != "test" && options.split != "train") {
    throw ConfigError({"--split"}, "", "test or train", "'" + options.split + "'");
  }
  config::ExperimentSpec spec = experiment::load(folder / "config.yaml");
  const c10::Device device =
      resolve_device(options.device.empty() ? spec.train.device : options.device);
  nn::Network net = kept_network(folder, spec, device);
  data::Dataset dataset = data::load_dataset(spec.data, uint64_t(spec.train.seed));
  const data::Split& split = options.split == "test" ? dataset.test : dataset.train;

  data::BatchOptions in_order =
      data::batch_options(spec.data, device, dataset.normalize, /*training=*/false);
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
      rows.push_back(
          {index, dataset.class_names[t], dataset.class_names[p], pixels_of(split, index)});
    }
  }
  return rows;
}

}  // namespace dlx::train
