// A run folder's pictures. curves.svg: train loss, train accuracy and test accuracy per epoch on
// one chart, as d2l's Animator draws them. Written by hand as SVG: a few polylines need no plotting
// library, and the file opens in any browser with nothing installed.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace dlx::report {

/// The chart for a report's `epochs` list (epoch, train_loss, train_acc, test_acc).
std::string curves_svg(const nlohmann::ordered_json& epochs, const std::string& title);

/// classes.svg, for a report's `test_classes`: the confusion matrix (rows true, columns
/// predicted), each cell shaded by its share of the true class, and each class's accuracy.
std::string classes_svg(const nlohmann::ordered_json& test_classes, const std::string& title);

}  // namespace dlx::report
