// A run folder's pictures. curves.svg: train loss, train accuracy and test accuracy per epoch on
// one chart, as d2l's Animator draws them. Written by hand as SVG: a few polylines need no plotting
// library, and the file opens in any browser with nothing installed.
#pragma once

#include <string>
#include <vector>

#include "framework/report/run_report.h"

namespace dlx::report {

/// The chart of a run's epochs: train loss, train accuracy and test accuracy.
std::string curves_svg(const std::vector<EpochRecord>& epochs, const std::string& title);

/// classes.svg, for a report's `test_classes`: the confusion matrix (rows true, columns
/// predicted), each cell shaded by its share of the true class, and each class's accuracy.
std::string classes_svg(const ClassRecord& classes, const std::string& title);

}  // namespace dlx::report
