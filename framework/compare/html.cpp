// `dlx compare --html`: the page template (page.html) with uPlot and the runs' data filled in.
// All three are compiled into dlx (see cmake/embed.cmake), so the page needs no network and dlx
// needs no files at run time.
#include <string_view>

#include "framework/compare/compare.h"
#include "framework/core/system.h"

namespace dlx::compare {

namespace assets {
extern const std::string_view page_html, uplot_js, uplot_css;
}

namespace {

// Inside <script>, "</script>" or "<!--" in a string would end or confuse the element: JSON
// allows '<' to be written as \u003c, and '<' appears only inside strings.
std::string script_safe(const std::string& json) {
  std::string out;
  out.reserve(json.size());
  for (char c : json) {
    if (c == '<')
      out += "\\u003c";
    else
      out += c;
  }
  return out;
}

void fill(std::string& page, std::string_view marker, std::string_view content) {
  const size_t at = page.find(marker);
  if (at != std::string::npos) page.replace(at, marker.size(), content);
}

Json curves_json(const Comparison& c) {
  Json curves = Json::array();
  for (const auto& row : c.rows) {
    Json epochs = Json::array();
    for (const auto& e : row.epochs) {
      Json point = {{"epoch", e.value("epoch", 0)}};
      for (const char* metric : {"train_loss", "train_acc", "test_acc"})
        point[metric] = e.contains(metric) ? e[metric] : Json();
      epochs.push_back(point);
    }
    curves.push_back({{"run", row.label}, {"epochs", epochs}});
  }
  return curves;
}

}  // namespace

std::string render_html(std::vector<RunRow> rows, const Options& options,
                        const std::string& title) {
  Comparison c = prepare(std::move(rows), options);
  Json runs = to_json(c);
  for (size_t i = 0; i < c.rows.size(); ++i) runs[i]["classes"] = c.rows[i].classes;
  Json data = {{"title", title},
               {"generated", utc_now()},
               {"dlx_version", DLX_VERSION},
               {"metric", options.metric},
               {"keys", c.keys},
               {"metrics", metric_columns()},
               {"runs", runs},
               {"curves", curves_json(c)}};
  std::string page(assets::page_html);
  fill(page, "/*DLX_UPLOT_CSS*/", assets::uplot_css);
  fill(page, "/*DLX_UPLOT_JS*/", assets::uplot_js);
  fill(page, "/*DLX_DATA*/",
       script_safe(data.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)));
  return page;
}

}  // namespace dlx::compare
