#include "train/metrics.h"

#include <algorithm>
#include <cmath>
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

// The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `raw`.
double nice_step(double raw) {
  if (!(raw > 0)) return 1;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * power >= raw * (1 - 1e-9)) return m * power;
  return 10 * power;
}

// A tick's value with as many decimals as its step needs: 2.5, 0.25, 20.
std::string tick_label(double v, double step) {
  int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  if (std::fabs(step / std::pow(10.0, -decimals) - std::round(step / std::pow(10.0, -decimals))) > 1e-6) ++decimals;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, std::fabs(v) < 1e-12 ? 0.0 : v);
  return buf;
}

// Axis labels: three significant digits are enough to read a loss off the picture.
std::string label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}
// The mean OA against epoch on its own axis at the right, 0 at the bottom and 1 at the top.
template <class Px>
std::string oa_curve(const std::vector<EpochMetrics>& rows, const Px& px, double x_axis, double y_top, double y_bottom,
                     double legend_x) {
  const char* colour = "#2ca02c";
  auto py = [&](double oa) { return y_bottom - (y_bottom - y_top) * oa; };
  std::ostringstream svg, points;
  svg << "<line class=\"oa-axis\" x1=\"" << x_axis << "\" y1=\"" << y_top << "\" x2=\"" << x_axis << "\" y2=\""
      << y_bottom << "\" stroke=\"" << colour << "\"/>\n";
  for (int k = 0; k <= 4; ++k)
    svg << "<text x=\"" << x_axis + 4 << "\" y=\"" << py(k / 4.0) + 4 << "\" fill=\"" << colour << "\">"
        << label(k / 4.0) << "</text>\n";
  int count = 0;
  for (const auto& r : rows)
    if (!std::isnan(r.mean_oa)) points << (count++ ? " " : "") << px(r.epoch) << "," << py(r.mean_oa);
  svg << "<polyline class=\"mean-oa\" fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"2\" points=\""
      << points.str() << "\"/>\n"
      << "<line x1=\"" << legend_x << "\" y1=\"14\" x2=\"" << legend_x + 16 << "\" y2=\"14\" stroke=\"" << colour
      << "\" stroke-width=\"2\"/>\n"
      << "<text x=\"" << legend_x + 20 << "\" y=\"18\" fill=\"" << colour << "\">mean OA</text>\n";
  return svg.str();
}

}  // namespace

std::string metrics_csv(const std::vector<EpochMetrics>& rows) {
  std::ostringstream out;
  out << "epoch,step,train_loss,val_loss,val_perplexity,val_accuracy,seconds,mean_oa,pitch_class_entropy,"
         "scale_consistency,polyphony,empty_beat_rate,groove_consistency\n";
  for (const auto& r : rows)
    out << number(r.epoch) << ',' << r.step << ',' << number(r.train_loss) << ',' << number(r.val_loss) << ','
        << number(r.val_perplexity) << ',' << number(r.val_accuracy) << ',' << number(r.seconds) << ','
        << number(r.mean_oa) << ',' << number(r.pitch_class_entropy) << ',' << number(r.scale_consistency) << ','
        << number(r.polyphony) << ',' << number(r.empty_beat_rate) << ',' << number(r.groove_consistency) << '\n';
  return out.str();
}

std::string loss_svg(const std::vector<EpochMetrics>& rows) {
  bool has_oa = false;
  for (const auto& r : rows) has_oa = has_oa || !std::isnan(r.mean_oa);
  const double width = 640, height = 400, left = 70, right = has_oa ? 50 : 20, top = 30, bottom = 50;
  double x_max = 1, x_min = 1, y_max = 0, y_min = 1e300;
  for (const auto& r : rows) {
    x_max = std::max(x_max, r.epoch);
    x_min = std::min(x_min, r.epoch);
    for (double v : {r.train_loss, r.val_loss})
      if (!std::isnan(v)) {
        y_max = std::max(y_max, v);
        y_min = std::min(y_min, v);
      }
  }
  if (y_min > y_max) y_min = 0, y_max = 1;
  // Epochs are counted from 1 (the first row is the end of epoch 1); a run stopped inside its first
  // epoch has rows before 1, and then the axis starts at 0.
  x_min = x_min >= 1 ? 1 : 0;
  if (x_max <= x_min) x_max = x_min + 1;
  // Round ticks: a step of 1, 2, 2.5 or 5 times a power of ten, the axis from and to multiples of it.
  const double y_step = nice_step((y_max - y_min) / 4);
  // The lowest loss a little above the x axis, where it can be told apart from the axis.
  const double y_low = std::max(0.0, std::floor((y_min - 0.05 * (y_max - y_min + 1e-9)) / y_step) * y_step);
  double y_high = std::ceil(y_max / y_step) * y_step;
  if (y_high <= y_low) y_high = y_low + y_step;
  const double x_step = std::max(x_max - x_min >= 1 ? 1.0 : 0.0, nice_step((x_max - x_min) / 5));
  auto px = [&](double epoch) { return left + (width - left - right) * (epoch - x_min) / (x_max - x_min); };
  auto py = [&](double loss) { return height - bottom - (height - top - bottom) * (loss - y_low) / (y_high - y_low); };
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << left << "\" y=\"18\">Loss per epoch</text>\n"
      << "<line class=\"axis\" x1=\"" << left << "\" y1=\"" << height - bottom << "\" x2=\"" << width - right
      << "\" y2=\"" << height - bottom << "\" stroke=\"black\"/>\n"
      << "<line class=\"axis\" x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left << "\" y2=\""
      << height - bottom << "\" stroke=\"black\"/>\n";
  for (int k = 0; y_low + k * y_step <= y_high + 1e-9 * y_step; ++k) {
    const double v = y_low + k * y_step;
    svg << "<text class=\"y-tick\" x=\"" << left - 6 << "\" y=\"" << py(v) + 4 << "\" text-anchor=\"end\">"
        << tick_label(v, y_step) << "</text>\n";
  }
  // The first epoch, then the multiples of the step after it.
  for (double e = x_min; e <= x_max + 1e-9 * x_step;
       e = e == x_min ? std::floor(x_min / x_step) * x_step + x_step : e + x_step) {
    if (e != x_min && e - x_min < 0.5 * x_step) continue;  // too near the first label
    svg << "<text class=\"x-tick\" x=\"" << px(e) << "\" y=\"" << height - bottom + 16 << "\" text-anchor=\"middle\">"
        << tick_label(e, x_step) << "</text>\n";
  }
  svg << "<text class=\"axis-label\" x=\"" << left + (width - left - right) / 2 << "\" y=\"" << height - 10
      << "\" text-anchor=\"middle\">epoch</text>\n"
      << "<text class=\"axis-label\" x=\"16\" y=\"" << top + (height - top - bottom) / 2
      << "\" text-anchor=\"middle\" transform=\"rotate(-90 16 " << top + (height - top - bottom) / 2
      << ")\">loss (cross-entropy, nats)</text>\n";
  const struct {
    const char* name;
    const char* colour;
    double EpochMetrics::*field;
  } curves[] = {{"train", "#1f77b4", &EpochMetrics::train_loss}, {"validation", "#d62728", &EpochMetrics::val_loss}};
  int legend = 0;
  const double legend_left = width - right - (has_oa ? 260 : 170);
  for (const auto& c : curves) {
    std::ostringstream points;
    int count = 0;
    for (const auto& r : rows)
      if (!std::isnan(r.*c.field)) points << (count++ ? " " : "") << px(r.epoch) << "," << py(r.*c.field);
    if (count == 0) continue;
    // The legend sits above the plot, where no curve can run through it.
    const double legend_x = legend_left + 90 * legend;
    svg << "<polyline class=\"" << c.name << "\" fill=\"none\" stroke=\"" << c.colour
        << "\" stroke-width=\"2\" points=\"" << points.str() << "\"/>\n"
        << "<line x1=\"" << legend_x << "\" y1=\"14\" x2=\"" << legend_x + 16 << "\" y2=\"14\" stroke=\"" << c.colour
        << "\" stroke-width=\"2\"/>\n"
        << "<text x=\"" << legend_x + 20 << "\" y=\"18\" fill=\"" << c.colour << "\">" << c.name << "</text>\n";
    ++legend;
  }
  if (has_oa) svg << oa_curve(rows, px, width - right, top, height - bottom, legend_left + 90 * legend);
  svg << "</svg>\n";
  return svg.str();
}

std::string metrics_json(const std::vector<EpochMetrics>& rows) {
  nlohmann::json j = nlohmann::json::array();
  auto v = [](double x) { return std::isnan(x) ? nlohmann::json(nullptr) : nlohmann::json(x); };
  for (const auto& r : rows)
    j.push_back({r.epoch, r.step, v(r.train_loss), v(r.val_loss), v(r.val_perplexity), v(r.val_accuracy), r.seconds,
                 v(r.mean_oa), v(r.pitch_class_entropy), v(r.scale_consistency), v(r.polyphony), v(r.empty_beat_rate),
                 v(r.groove_consistency)});
  return j.dump();
}

std::vector<EpochMetrics> metrics_from_json(const std::string& text) {
  std::vector<EpochMetrics> rows;
  auto v = [](const nlohmann::json& x) { return x.is_null() ? NAN : x.get<double>(); };
  for (const auto& r : nlohmann::json::parse(text)) {
    rows.push_back({r.at(0).get<double>(), r.at(1).get<int64_t>(), v(r.at(2)), v(r.at(3)), v(r.at(4)), v(r.at(5)),
                    r.at(6).get<double>()});
    if (r.size() >= 13) {  // state files written before the music metrics have 7 columns
      EpochMetrics& m = rows.back();
      m.mean_oa = v(r.at(7));
      m.pitch_class_entropy = v(r.at(8));
      m.scale_consistency = v(r.at(9));
      m.polyphony = v(r.at(10));
      m.empty_beat_rate = v(r.at(11));
      m.groove_consistency = v(r.at(12));
    }
  }
  return rows;
}

}  // namespace legato::model
