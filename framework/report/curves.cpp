#include "framework/report/curves.h"

#include "framework/report/chart.h"

namespace dlx::report {

std::string curves_svg(const nlohmann::ordered_json& epochs, const std::string& title) {
  Chart chart{title, "epoch", false, {{"train loss", {}}, {"train acc", {}}, {"test acc", {}}}};
  const char* keys[] = {"train_loss", "train_acc", "test_acc"};
  for (const auto& e : epochs) {
    for (size_t i = 0; i < 3; ++i) {
      if (e.contains(keys[i]) && e[keys[i]].is_number()) {
        chart.series[i].points.push_back({e.value("epoch", 0.0), e[keys[i]].get<double>()});
      }
    }
  }
  return render_svg(chart);
}

}  // namespace dlx::report
