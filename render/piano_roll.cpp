#include "render/piano_roll.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "base/atomic_file.h"
#include "render/instruments.h"

namespace legato::render {

namespace {

// Ten colours that stay apart for most eyes (matplotlib's tab10); more instruments get hues
// spread around the wheel.
const char* const kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string colour(size_t k) {
  if (k < std::size(kPalette)) return kPalette[k];
  char buf[40];
  std::snprintf(buf, sizeof buf, "hsl(%d,65%%,45%%)", int((k * 137) % 360));
  return buf;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

const char* const kPitchNames[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};

}  // namespace

std::vector<double> bar_ticks(const midi::Score& score) {
  std::vector<double> bars;
  const double end = double(score.end_tick());
  std::vector<midi::TimeSignature> signatures = score.time_signatures;
  if (signatures.empty() || signatures.front().tick > 0) signatures.insert(signatures.begin(), midi::TimeSignature{});
  for (size_t k = 0; k < signatures.size(); ++k) {
    const midi::TimeSignature& ts = signatures[k];
    const double until = k + 1 < signatures.size() ? double(signatures[k + 1].tick) : end;
    const double length = double(score.ticks_per_quarter) * 4.0 * ts.numerator / std::max(1, ts.denominator);
    if (length <= 0) continue;
    for (double t = double(ts.tick); t < until && t < end; t += length) bars.push_back(t);
  }
  return bars;
}

std::string piano_roll_svg(const midi::Score& score, const RollOptions& options) {
  // Instruments in order of first appearance: (drums?, program) -> colour index.
  std::map<std::pair<bool, int>, size_t> instruments;
  std::vector<std::pair<bool, int>> order;
  for (const midi::Note& n : score.notes) {
    const std::pair key{n.is_drum(), n.is_drum() ? 0 : n.program};
    if (instruments.emplace(key, order.size()).second) order.push_back(key);
  }

  const double tpq = std::max(1, score.ticks_per_quarter);
  const double quarters = std::max(1.0, double(score.end_tick()) / tpq);
  int lo = 55, hi = 72;  // an empty score shows the octave around middle C
  if (!score.notes.empty()) {
    lo = 127, hi = 0;
    for (const midi::Note& n : score.notes) lo = std::min(lo, n.pitch), hi = std::max(hi, n.pitch);
    lo = std::max(0, lo - 2), hi = std::min(127, hi + 2);
  }
  const double ppq =
      options.pixels_per_quarter > 0 ? options.pixels_per_quarter : std::clamp(1600.0 / quarters, 2.0, 32.0);
  const double row = options.row_height > 0 ? options.row_height : std::clamp(400.0 / (hi - lo + 1), 3.0, 10.0);
  const double left = 44, right = 190, top = 34, bottom = 30;
  const double plot_w = quarters * ppq, plot_h = (hi - lo + 1) * row;
  const double width = left + plot_w + right;
  const double height = top + std::max(plot_h, 16.0 * double(order.size())) + bottom;  // room for the legend
  auto x = [&](double tick) { return left + tick / tpq * ppq; };
  auto y = [&](int pitch) { return top + (hi - pitch) * row; };

  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(width) << "\" height=\"" << num(height)
      << "\" viewBox=\"0 0 " << num(width) << ' ' << num(height) << "\" font-family=\"sans-serif\" font-size=\"11\">\n"
      << "<rect class=\"background\" width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<rect class=\"plot\" x=\"" << num(left) << "\" y=\"" << num(top) << "\" width=\"" << num(plot_w)
      << "\" height=\"" << num(plot_h) << "\" fill=\"#f7f7f7\" stroke=\"#bbbbbb\"/>\n";
  const std::vector<double> bars = bar_ticks(score);
  std::string title = options.title.empty() ? std::string("Piano roll") : options.title;
  title += ": " + std::to_string(score.notes.size()) + " notes, " + std::to_string(bars.size()) + " bars";
  svg << "<text class=\"title\" x=\"" << num(left) << "\" y=\"20\" font-size=\"14\">" << escape(title) << "</text>\n";
  for (int p = lo; p <= hi; ++p)
    if (p % 12 == 0) {
      const double yb = y(p) + row;  // the C row's lower edge
      svg << "<line class=\"octave\" x1=\"" << num(left) << "\" y1=\"" << num(yb) << "\" x2=\"" << num(left + plot_w)
          << "\" y2=\"" << num(yb) << "\" stroke=\"#dddddd\"/>\n"
          << "<text x=\"" << num(left - 4) << "\" y=\"" << num(y(p) + row / 2 + 4) << "\" text-anchor=\"end\">"
          << kPitchNames[p % 12] << p / 12 - 1 << "</text>\n";
    }
  const int label_every = std::max(1, int(std::ceil(24.0 / std::max(1.0, ppq * 4))));  // bar numbers ~24 px apart
  for (size_t k = 0; k < bars.size(); ++k) {
    svg << "<line class=\"bar\" x1=\"" << num(x(bars[k])) << "\" y1=\"" << num(top) << "\" x2=\"" << num(x(bars[k]))
        << "\" y2=\"" << num(top + plot_h) << "\" stroke=\"#999999\"/>\n";
    if (k % size_t(label_every) == 0)
      svg << "<text x=\"" << num(x(bars[k]) + 2) << "\" y=\"" << num(top + plot_h + 14) << "\">" << k + 1
          << "</text>\n";
  }
  for (const midi::Note& n : score.notes) {
    const size_t c = instruments.at({n.is_drum(), n.is_drum() ? 0 : n.program});
    svg << "<rect class=\"note\" x=\"" << num(x(double(n.start_tick))) << "\" y=\"" << num(y(n.pitch)) << "\" width=\""
        << num(double(n.duration_ticks) / tpq * ppq) << "\" height=\"" << num(row) << "\" fill=\"" << colour(c)
        << "\" stroke=\"black\" stroke-opacity=\"0.35\" stroke-width=\"0.5\"/>\n";
  }
  for (size_t k = 0; k < order.size(); ++k) {
    const double lx = left + plot_w + 14, ly = top + 16.0 * double(k);
    svg << "<rect class=\"legend\" x=\"" << num(lx) << "\" y=\"" << num(ly) << "\" width=\"12\" height=\"10\" fill=\""
        << colour(k) << "\"/>\n"
        << "<text x=\"" << num(lx + 16) << "\" y=\"" << num(ly + 9) << "\">"
        << escape(instrument_name(order[k].second, order[k].first)) << "</text>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

void write_text_file(const std::filesystem::path& path, const std::string& text) { write_file_atomically(path, text); }

}  // namespace legato::render
