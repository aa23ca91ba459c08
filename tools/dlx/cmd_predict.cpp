// `dlx predict RUN`: the run's predictions on the first examples of a split, with text labels,
// and the accuracy over those rows (the second seed's table); or, with --files, on image files.
#include <fmt/format.h>

#include <ATen/ops/zeros.h>

#include <algorithm>
#include <iostream>

#include "framework/core/files.h"
#include "framework/metrics/metric.h"
#include "framework/report/run_report.h"
#include "framework/train/predict.h"
#include "tools/dlx/commands.h"

namespace dlx::tools {

namespace {
int print_file_predictions(const std::string& folder, const std::vector<std::string>& files,
                           int64_t top, const std::string& device) {
  auto rows = train::predict_files(folder, files, top, device);
  size_t width = 4;
  for (const auto& r : rows) width = std::max(width, r.file.size());
  std::cout << fmt::format("{:<{}}  {}\n", "file", width,
                           top == 1 ? "prediction (probability)" : "top predictions (probability)");
  for (const auto& r : rows) {
    std::string line = fmt::format("{:<{}}", r.file, width);
    for (const auto& [label, p] : r.top) line += fmt::format("  {} ({:.3f})", label, p);
    std::cout << line << "\n";
  }
  return 0;
}

// Per class over the predicted rows: support, precision, recall and F1 (scikit-learn's
// classification_report), then their macro means.
void print_class_table(const std::vector<train::Prediction>& rows,
                       const std::vector<std::string>& names) {
  const auto n = int64_t(names.size());
  auto index = [&](const std::string& name) {
    return int64_t(std::find(names.begin(), names.end(), name) - names.begin());
  };
  at::Tensor confusion = at::zeros({n, n}, at::kLong);
  for (const auto& r : rows) {
    const int64_t t = index(r.truth), p = index(r.predicted);
    if (t < n && p < n) confusion[t][p] += 1;
  }
  const metrics::ClassScores s = metrics::class_scores(confusion);
  const at::Tensor support = confusion.sum(1);
  size_t width = 5;
  for (const auto& name : names) width = std::max(width, name.size());
  std::cout << fmt::format("\n{:<{}}  {:>7}  {:>9}  {:>6}  {:>6}\n", "class", width, "support",
                           "precision", "recall", "f1");
  for (int64_t c = 0; c < n; ++c)
    std::cout << fmt::format("{:<{}}  {:>7}  {:>9.3f}  {:>6.3f}  {:>6.3f}\n", names[c], width,
                             support[c].item<int64_t>(), s.precision[c], s.recall[c], s.f1[c]);
  std::cout << fmt::format("{:<{}}  {:>7}  {:>9.3f}  {:>6.3f}  {:>6.3f}\n", "macro", width,
                           rows.size(), s.macro_precision, s.macro_recall, s.macro_f1);
}

}  // namespace

void add_predict_command(CLI::App& app, Command& chosen) {
  auto folder = std::make_shared<std::string>();
  auto options = std::make_shared<train::PredictOptions>();
  CLI::App* cmd = app.add_subcommand(
      "predict", "predict the first examples of a split with a run's checkpoint");
  cmd->add_option("RUN", *folder, "the run folder")->required();
  cmd->add_option("--n", options->count, "rows (default 10)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  cmd->add_option("--split", options->split, "test (default) or train");
  cmd->add_flag("--misses", options->misses_only, "only the examples predicted wrongly");
  cmd->add_option("--device", options->device, "device (default: the run's train.device)");
  auto files = std::make_shared<std::vector<std::string>>();
  auto top = std::make_shared<int64_t>(1);
  cmd->add_option("--files", *files,
                  "predict these PNG or JPEG files instead, decoded and normalised as the run's "
                  "data was");
  cmd->add_option("--top", *top, "with --files: the K most likely classes (default 1)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}));
  auto per_class = std::make_shared<bool>(false);
  cmd->add_flag("--per-class", *per_class,
                "also print each class's support, precision, recall and F1 over the rows (with "
                "--n as large as the split: over the whole split)");
  auto image = std::make_shared<std::string>();
  cmd->add_option("--image", *image,
                  "also write the examples in a grid, titled true/predicted (SVG)");
  cmd->callback([folder, options, image, files, top, per_class, &chosen] {
    chosen = [folder, options, image, files, top, per_class] {
      if (!files->empty()) return print_file_predictions(*folder, *files, *top, options->device);
      auto rows = train::predict_run(*folder, *options);
      std::cout << fmt::format("{:>5}  {:<12}  {}\n", "index", "true_label", "predicted_label");
      int64_t right = 0;
      for (const auto& r : rows) {
        std::cout << fmt::format("{:>5}  {:<12}  {}\n", r.index, r.truth, r.predicted);
        right += r.truth == r.predicted;
      }
      if (!rows.empty()) {
        std::cout << fmt::format("accuracy over these {} rows: {:.3f} ({}/{})\n", rows.size(),
                                 double(right) / double(rows.size()), right, rows.size());
      }
      if (*per_class) {
        const report::RunReport run = report::read_run_report(*folder);
        print_class_table(rows, run.data ? run.data->class_names : std::vector<std::string>{});
      }
      if (!image->empty()) {
        write_file_atomic(*image, train::predictions_svg(rows));
        std::cout << "wrote " << *image << "\n";
      }
      return 0;
    };
  });
}

}  // namespace dlx::tools
