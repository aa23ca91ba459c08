#include "framework/report/curves.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace dlx::report {

namespace {

constexpr double kWidth = 560, kHeight = 360, kLeft = 56, kRight = 150, kTop = 36, kBottom = 44;

struct Series {
  const char* key;
  const char* label;
  const char* color;
  const char* dash;
};

constexpr Series kSeries[] = {{"train_loss", "train loss", "#1f77b4", ""},
                              {"train_acc", "train acc", "#d62728", "6,3"},
                              {"test_acc", "test acc", "#2ca02c", "2,3"}};

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string curves_svg(const nlohmann::ordered_json& epochs, const std::string& title) {
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  double last_epoch = 1, y_max = 1;
  for (const auto& e : epochs) {
    last_epoch = std::max(last_epoch, e.value("epoch", 1.0));
    for (const auto& s : kSeries) {
      if (e.contains(s.key) && e[s.key].is_number())
        y_max = std::max(y_max, e[s.key].get<double>());
    }
  }
  const double tick = y_max <= 1.0 ? 0.2 : 0.5;  // round ticks, as a person would label them
  const int ticks = int(std::ceil(y_max / tick - 1e-9));
  y_max = ticks * tick;
  auto x = [&](double epoch) {
    return kLeft + plot_w * (epoch - 1) / std::max(1.0, last_epoch - 1);
  };
  auto y = [&](double v) { return kTop + plot_h * (1 - v / y_max); };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" "
      "font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{}\" y=\"20\" font-size=\"14\">{}</text>\n",
      kWidth, kHeight, kLeft, escape(title));
  for (int i = 0; i <= ticks; ++i) {  // horizontal grid and y labels
    double v = tick * i;
    svg += fmt::format(
        "<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>"
        "<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{:.1f}</text>\n",
        kLeft, y(v), kLeft + plot_w, y(v), kLeft - 6, y(v) + 4, v);
  }
  const int step = std::max(1, int(last_epoch) / 10);
  for (int e = 1; e <= int(last_epoch); e += step) {  // x labels
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x(e),
                       kTop + plot_h + 18, e);
  }
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">epoch</text>\n",
                     kLeft + plot_w / 2, kHeight - 6);
  svg += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n", kLeft,
      kTop, plot_w, plot_h);
  int legend = 0;
  for (const auto& s : kSeries) {
    std::string points;
    for (const auto& e : epochs) {
      if (!e.contains(s.key) || !e[s.key].is_number()) continue;
      points += fmt::format("{:.1f},{:.1f} ", x(e.value("epoch", 1.0)), y(e[s.key].get<double>()));
    }
    svg += fmt::format(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" "
        "stroke-dasharray=\"{}\"/>\n",
        points, s.color, s.dash);
    const double ly = kTop + 12 + 20 * legend++;
    svg += fmt::format(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\" "
        "stroke-dasharray=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
        kLeft + plot_w + 14, ly, kLeft + plot_w + 44, ly, s.color, s.dash, kLeft + plot_w + 50,
        ly + 4, s.label);
  }
  return svg + "</svg>\n";
}

}  // namespace dlx::report
