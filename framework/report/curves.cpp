#include "framework/report/curves.h"

#include <fmt/format.h>

#include "framework/report/chart.h"

namespace dlx::report {

std::string curves_svg(const std::vector<EpochRecord>& epochs, const std::string& title) {
  Chart chart{title, "epoch", false, {{"train loss", {}}, {"train acc", {}}, {"test acc", {}}}};
  for (const auto& e : epochs) {
    const double x = double(e.epoch);
    if (e.train_loss) chart.series[0].points.push_back({x, *e.train_loss});
    if (e.train_acc) chart.series[1].points.push_back({x, *e.train_acc});
    chart.series[2].points.push_back({x, e.test_acc});
  }
  return render_svg(chart);
}

std::string classes_svg(const ClassRecord& classes, const std::string& title) {
  const auto& names = classes.names;
  const auto& matrix = classes.confusion_matrix;
  const size_t n = names.size();
  constexpr double kCell = 34, kLeft = 96, kTop = 110, kBar = 90;
  const double width = kLeft + n * kCell + 24 + kBar + 60, height = kTop + n * kCell + 20;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"11\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"18\" font-size=\"14\" text-anchor=\"middle\">{3}: confusion matrix "
      "and per-class accuracy</text>\n"
      "<text x=\"12\" y=\"{4}\">true \u2193 / predicted \u2192</text>\n",
      width, height, width / 2, xml_escape(title), 40);
  for (size_t t = 0; t < n; ++t) {
    const std::string name = xml_escape(names[t]);
    const double y = kTop + t * kCell, x = kLeft + t * kCell + kCell / 2;
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", kLeft - 6,
                       y + kCell / 2 + 4, name);
    svg += fmt::format("<text transform=\"translate({},{}) rotate(-50)\">{}</text>\n", x, kTop - 6,
                       name);
    double total = 0;
    for (int64_t count : matrix[t]) total += double(count);
    for (size_t p = 0; p < n; ++p) {
      const double count = double(matrix[t][p]), share = total > 0 ? count / total : 0;
      const int light = static_cast<int>(97 - 62 * share);
      svg += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"hsl({},70%,{}%)\"/>"
          "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{}\">{}</text>\n",
          kLeft + p * kCell, y, kCell - 1, kCell - 1, p == t ? 212 : 4, light,
          kLeft + p * kCell + kCell / 2, y + kCell / 2 + 4, light < 60 ? "white" : "black", count);
    }
    const double accuracy = total > 0 ? double(matrix[t][t]) / total : 0;
    const double bar_x = kLeft + n * kCell + 24;
    svg += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#1f77b4\"/>"
        "<text x=\"{}\" y=\"{}\">{:.3f}</text>\n",
        bar_x, y + 8, kBar * accuracy, kCell - 17, bar_x + kBar * accuracy + 4, y + kCell / 2 + 4,
        accuracy);
  }
  return svg + "</svg>\n";
}

}  // namespace dlx::report
