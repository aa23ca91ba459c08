// Line charts as self-contained SVG: the run's curves (curves.svg), and the comparison's overlays
// of several runs and of a final metric against a swept key. Written by hand: a few polylines need
// no plotting library, and the files open in any browser with nothing installed.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace dlx::report {

struct ChartSeries {
  std::string label;
  std::vector<std::pair<double, double>> points;  // (x, y)
};

struct Chart {
  std::string title;
  std::string x_label;
  bool log_x = false;  // a log axis, for learning rates
  std::vector<ChartSeries> series;
};

/// `text` with XML's special characters escaped, for SVG text and attributes.
std::string xml_escape(const std::string& text);

/// The chart as an SVG document. Series get distinct colours and dash patterns, in order.
std::string render_svg(const Chart& chart);

}  // namespace dlx::report
