#include "framework/report/chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace dlx::report {

namespace {

constexpr double kWidth = 600, kHeight = 360, kLeft = 56, kRight = 190, kTop = 36, kBottom = 44;
constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr const char* kDashes[] = {"", "6,3", "2,3", "8,3,2,3"};

std::string number(double v) {
  return fmt::format("{:g}", v);
}

}  // namespace

std::string xml_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

std::string render_svg(const Chart& chart) {
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  double x_min = std::numeric_limits<double>::max(), x_max = -x_min, y_max = 0;
  for (const auto& s : chart.series) {
    for (auto [x, y] : s.points) {
      if (!std::isfinite(y) || (chart.log_x && x <= 0)) continue;
      x_min = std::min(x_min, x), x_max = std::max(x_max, x), y_max = std::max(y_max, y);
    }
  }
  if (x_min > x_max) x_min = 0, x_max = 1;
  const double tick = y_max <= 1.0 ? 0.2 : 0.5;  // round ticks, as a person would label them
  const int ticks = std::max(1, int(std::ceil(y_max / tick - 1e-9)));
  y_max = ticks * tick;
  auto fx = [&](double v) { return chart.log_x ? std::log10(v) : v; };
  const double span = fx(x_max) - fx(x_min);
  auto x = [&](double v) {
    return kLeft + (span > 0 ? plot_w * (fx(v) - fx(x_min)) / span : plot_w / 2);
  };
  auto y = [&](double v) { return kTop + plot_h * (1 - v / y_max); };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" "
      "font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{}\" y=\"20\" font-size=\"14\">{}</text>\n",
      kWidth, kHeight, kLeft, xml_escape(chart.title));
  for (int i = 0; i <= ticks; ++i) {
    const double v = tick * i;
    svg += fmt::format(
        "<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>"
        "<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{:.1f}</text>\n",
        kLeft, y(v), kLeft + plot_w, y(v), kLeft - 6, y(v) + 4, v);
  }
  std::vector<double> x_ticks;
  for (const auto& s : chart.series) {
    for (auto [px, py] : s.points) x_ticks.push_back(px);
  }
  std::sort(x_ticks.begin(), x_ticks.end());
  x_ticks.erase(std::unique(x_ticks.begin(), x_ticks.end()), x_ticks.end());
  const size_t every = std::max<size_t>(1, x_ticks.size() / 10);
  for (size_t i = 0; i < x_ticks.size(); i += every) {
    if (chart.log_x && x_ticks[i] <= 0) continue;
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                       x(x_ticks[i]), kTop + plot_h + 18, number(x_ticks[i]));
  }
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}{}</text>\n",
                     kLeft + plot_w / 2, kHeight - 6, xml_escape(chart.x_label),
                     chart.log_x ? " (log scale)" : "");
  svg += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n", kLeft,
      kTop, plot_w, plot_h);
  for (size_t i = 0; i < chart.series.size(); ++i) {
    const auto& s = chart.series[i];
    const char* color = kColors[i % std::size(kColors)];
    const char* dash = kDashes[i % std::size(kDashes)];
    std::string points;
    for (auto [px, py] : s.points) {
      if (std::isfinite(py) && !(chart.log_x && px <= 0))
        points += fmt::format("{:.1f},{:.1f} ", x(px), y(py));
    }
    svg += fmt::format(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" "
        "stroke-dasharray=\"{}\"/>\n",
        points, color, dash);
    const double ly = kTop + 12 + 20 * double(i);
    svg += fmt::format(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\" "
        "stroke-dasharray=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
        kLeft + plot_w + 14, ly, kLeft + plot_w + 44, ly, color, dash, kLeft + plot_w + 50, ly + 4,
        xml_escape(s.label));
  }
  return svg + "</svg>\n";
}

}  // namespace dlx::report
