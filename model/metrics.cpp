#include "model/metrics.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

namespace legato::model {

namespace {
std::string number(double v) {
  if (std::isnan(v)) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// Axis labels: three significant digits are enough to read a loss off the picture.
std::string label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}
}  // namespace

std::string metrics_csv(const std::vector<EpochMetrics>& rows) {
  std::ostringstream out;
  out << "epoch,step,train_loss,val_loss,val_perplexity,val_accuracy,seconds\n";
  for (const auto& r : rows)
    out << number(r.epoch) << ',' << r.step << ',' << number(r.train_loss) << ',' << number(r.val_loss) << ','
        << number(r.val_perplexity) << ',' << number(r.val_accuracy) << ',' << number(r.seconds) << '\n';
  return out.str();
}

std::string loss_svg(const std::vector<EpochMetrics>& rows) {
  const double width = 640, height = 400, left = 60, right = 20, top = 30, bottom = 50;
  double x_max = 1, y_max = 0, y_min = 1e300;
  for (const auto& r : rows) {
    x_max = std::max(x_max, r.epoch);
    for (double v : {r.train_loss, r.val_loss})
      if (!std::isnan(v)) {
        y_max = std::max(y_max, v);
        y_min = std::min(y_min, v);
      }
  }
  if (y_min > y_max) y_min = 0, y_max = 1;
  y_min = std::max(0.0, y_min - 0.1 * (y_max - y_min + 1e-9));
  y_max += 0.05 * (y_max - y_min + 1e-9);
  auto px = [&](double epoch) { return left + (width - left - right) * epoch / x_max; };
  auto py = [&](double loss) { return height - bottom - (height - top - bottom) * (loss - y_min) / (y_max - y_min); };
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << left << "\" y=\"18\">Loss per epoch</text>\n"
      << "<line class=\"axis\" x1=\"" << left << "\" y1=\"" << height - bottom << "\" x2=\"" << width - right
      << "\" y2=\"" << height - bottom << "\" stroke=\"black\"/>\n"
      << "<line class=\"axis\" x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left << "\" y2=\""
      << height - bottom << "\" stroke=\"black\"/>\n";
  for (int k = 0; k <= 4; ++k) {
    const double v = y_min + (y_max - y_min) * k / 4, e = x_max * k / 4;
    svg << "<text x=\"" << left - 6 << "\" y=\"" << py(v) + 4 << "\" text-anchor=\"end\">" << label(v) << "</text>\n"
        << "<text x=\"" << px(e) << "\" y=\"" << height - bottom + 16 << "\" text-anchor=\"middle\">" << label(e)
        << "</text>\n";
  }
  svg << "<text x=\"" << width / 2 << "\" y=\"" << height - 10 << "\" text-anchor=\"middle\">epoch</text>\n";
  const struct {
    const char* name;
    const char* colour;
    double EpochMetrics::*field;
  } curves[] = {{"train", "#1f77b4", &EpochMetrics::train_loss}, {"validation", "#d62728", &EpochMetrics::val_loss}};
  int legend = 0;
  for (const auto& c : curves) {
    std::ostringstream points;
    int count = 0;
    for (const auto& r : rows)
      if (!std::isnan(r.*c.field)) points << (count++ ? " " : "") << px(r.epoch) << "," << py(r.*c.field);
    if (count == 0) continue;
    // The legend sits above the plot, where no curve can run through it.
    const double legend_x = width - right - 170 + 90 * legend;
    svg << "<polyline class=\"" << c.name << "\" fill=\"none\" stroke=\"" << c.colour
        << "\" stroke-width=\"2\" points=\"" << points.str() << "\"/>\n"
        << "<line x1=\"" << legend_x << "\" y1=\"14\" x2=\"" << legend_x + 16 << "\" y2=\"14\" stroke=\"" << c.colour
        << "\" stroke-width=\"2\"/>\n"
        << "<text x=\"" << legend_x + 20 << "\" y=\"18\" fill=\"" << c.colour << "\">" << c.name << "</text>\n";
    ++legend;
  }
  svg << "</svg>\n";
  return svg.str();
}

std::string metrics_json(const std::vector<EpochMetrics>& rows) {
  nlohmann::json j = nlohmann::json::array();
  auto v = [](double x) { return std::isnan(x) ? nlohmann::json(nullptr) : nlohmann::json(x); };
  for (const auto& r : rows)
    j.push_back({r.epoch, r.step, v(r.train_loss), v(r.val_loss), v(r.val_perplexity), v(r.val_accuracy), r.seconds});
  return j.dump();
}

std::vector<EpochMetrics> metrics_from_json(const std::string& text) {
  std::vector<EpochMetrics> rows;
  auto v = [](const nlohmann::json& x) { return x.is_null() ? NAN : x.get<double>(); };
  for (const auto& r : nlohmann::json::parse(text))
    rows.push_back({r.at(0).get<double>(), r.at(1).get<int64_t>(), v(r.at(2)), v(r.at(3)), v(r.at(4)), v(r.at(5)),
                    r.at(6).get<double>()});
  return rows;
}

}  // namespace legato::model
