#include "eval/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "eval/kde.h"

namespace legato::eval {
namespace {

std::string number(double v, const char* format = "%.6g") {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// Counts print as integers; NaN and infinity, which JSON lacks, as null.
nlohmann::json json_number(double v) {
  if (!std::isfinite(v)) return nullptr;
  if (v == std::floor(v) && std::abs(v) < 1e15) return static_cast<int64_t>(v);
  return v;
}

std::string pad(const std::string& s, size_t width) {
  return s + std::string(width > s.size() ? width - s.size() : 0, ' ');
}

// The SVG text of a name: file names may hold &, < or >.
std::string escaped(const std::string& s) {
  std::string out;
  for (char ch : s) out += ch == '&' ? "&amp;" : ch == '<' ? "&lt;" : ch == '>' ? "&gt;" : std::string(1, ch);
  return out;
}

}  // namespace

std::string stats_table(const std::vector<NamedFeatures>& pieces) {
  size_t name_width = 4;
  for (const FeatureDef& d : feature_defs()) name_width = std::max(name_width, std::string(d.name).size());
  std::vector<size_t> widths;
  for (const auto& p : pieces) widths.push_back(std::max<size_t>(8, p.name.size()));
  std::ostringstream out;
  out << pad("file", name_width);
  for (size_t k = 0; k < pieces.size(); ++k) out << "  " << pad(pieces[k].name, widths[k]);
  out << "\n";
  for (const FeatureDef& d : feature_defs()) {
    if (!d.scalar) continue;
    out << pad(d.name, name_width);
    for (size_t k = 0; k < pieces.size(); ++k)
      out << "  " << pad(number(d.values(pieces[k].features)[0], "%.4g"), widths[k]);
    out << "\n";
  }
  return out.str();
}

std::string stats_csv(const std::vector<NamedFeatures>& pieces) {
  std::ostringstream out;
  out << "file";
  for (const FeatureDef& d : feature_defs())
    if (d.scalar) out << ',' << d.name;
  for (const char* h : {"pitch_class_histogram", "note_length_histogram"})
    for (int k = 0; k < 12; ++k) out << ',' << h << '_' << k;
  out << '\n';
  for (const auto& p : pieces) {
    // A name with a comma or quote is quoted as RFC 4180 says.
    std::string name = p.name;
    if (name.find_first_of(",\"\n") != std::string::npos) {
      std::string q = "\"";
      for (char ch : name) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
      name = q + "\"";
    }
    out << name;
    for (const FeatureDef& d : feature_defs())
      if (d.scalar) out << ',' << (std::isnan(d.values(p.features)[0]) ? "" : number(d.values(p.features)[0], "%.10g"));
    for (double v : p.features.pitch_class_histogram) out << ',' << number(v, "%.10g");
    for (double v : p.features.note_length_histogram) out << ',' << number(v, "%.10g");
    out << '\n';
  }
  return out.str();
}

std::string stats_json(const std::vector<NamedFeatures>& pieces) {
  std::string out;
  for (const auto& p : pieces) {
    nlohmann::ordered_json j;
    j["file"] = p.name;
    for (const FeatureDef& d : feature_defs()) {
      const std::vector<double> v = d.values(p.features);
      if (d.scalar) {
        j[d.name] = json_number(v[0]);
      } else if (v.size() == 144) {
        nlohmann::json rows = nlohmann::json::array();
        for (size_t r = 0; r < 12; ++r)
          rows.push_back(std::vector<double>(v.begin() + r * 12, v.begin() + r * 12 + 12));
        j[d.name] = rows;
      } else {
        j[d.name] = v;
      }
    }
    out += j.dump() + "\n";
  }
  return out;
}

std::string comparison_table(const Comparison& c) {
  size_t width = 7;
  for (const auto& f : c.features) width = std::max(width, f.name.size());
  std::ostringstream out;
  out << c.generated << " generated pieces against " << c.corpus << " corpus pieces\n"
      << pad("feature", width) << "  OA     KL\n";
  for (const auto& f : c.features)
    out << pad(f.name, width) << "  " << pad(number(f.oa, "%.3f"), 5) << "  " << number(f.kl, "%.3f") << "\n";
  out << "mean OA " << number(c.mean_oa, "%.3f") << "\n";
  return out.str();
}

std::string comparison_json(const Comparison& c) {
  nlohmann::ordered_json j;
  j["mean_oa"] = json_number(c.mean_oa);
  j["generated"] = c.generated;
  j["corpus"] = c.corpus;
  nlohmann::ordered_json features = nlohmann::ordered_json::object();
  for (const auto& f : c.features) features[f.name] = {{"oa", json_number(f.oa)}, {"kl", json_number(f.kl)}};
  j["features"] = features;
  return j.dump(2) + "\n";
}

std::string comparison_svg(const Comparison& c) {
  const int columns = 4, plot_w = 260, plot_h = 150, gap = 30, top = 50;
  const int rows = (static_cast<int>(c.features.size()) + columns - 1) / columns;
  const int width = columns * (plot_w + gap) + gap, height = top + rows * (plot_h + gap + 20) + gap;
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << gap << "\" y=\"20\" font-size=\"14\">Distances to the corpus: within it (blue) and from the "
      << c.generated << " generated pieces (red); mean OA " << number(c.mean_oa, "%.3f") << "</text>\n";
  for (size_t k = 0; k < c.features.size(); ++k) {
    const FeatureComparison& f = c.features[k];
    const double x0 = gap + double(k % columns) * (plot_w + gap), y0 = top + double(k / columns) * (plot_h + gap + 20);
    svg << "<g class=\"feature\" data-name=\"" << escaped(f.name) << "\" data-oa=\"" << number(f.oa, "%.6f") << "\">\n"
        << "<text x=\"" << x0 << "\" y=\"" << y0 + 12 << "\">" << escaped(f.name) << ": OA " << number(f.oa, "%.3f")
        << "</text>\n<line class=\"axis\" x1=\"" << x0 << "\" y1=\"" << y0 + 20 + plot_h << "\" x2=\"" << x0 + plot_w
        << "\" y2=\"" << y0 + 20 + plot_h << "\" stroke=\"black\"/>\n";
    if (!f.intra.empty() && !f.inter.empty()) {
      std::vector<double> both = f.intra;
      both.insert(both.end(), f.inter.begin(), f.inter.end());
      const double sd = sample_sd(both), fallback = 1e-3 * (sd > 0 ? sd : 1.0);
      const GaussianKde intra(f.intra, fallback), inter(f.inter, fallback);
      const double reach = 3 * std::max(intra.bandwidth(), inter.bandwidth());
      const double lo = std::min(intra.min(), inter.min()) - reach, hi = std::max(intra.max(), inter.max()) + reach;
      constexpr int kPoints = 200;
      std::vector<double> xs(kPoints), pi(kPoints), pg(kPoints);
      double top_density = 0;
      for (int i = 0; i < kPoints; ++i) {
        xs[i] = lo + (hi - lo) * i / (kPoints - 1);
        top_density = std::max({top_density, pi[i] = intra(xs[i]), pg[i] = inter(xs[i])});
      }
      for (const auto& [cls, colour, ys] : {std::tuple{"intra", "#1f77b4", &pi}, std::tuple{"inter", "#d62728", &pg}}) {
        svg << "<polyline class=\"" << cls << "\" fill=\"none\" stroke=\"" << colour
            << "\" stroke-width=\"1.5\" points=\"";
        for (int i = 0; i < kPoints; ++i)
          svg << (i ? " " : "") << x0 + plot_w * (xs[i] - lo) / (hi - lo) << ","
              << y0 + 20 + plot_h - plot_h * (*ys)[i] / top_density;
        svg << "\"/>\n";
      }
      svg << "<text x=\"" << x0 << "\" y=\"" << y0 + plot_h + 34 << "\">" << number(lo, "%.3g") << "</text>\n"
          << "<text x=\"" << x0 + plot_w << "\" y=\"" << y0 + plot_h + 34 << "\" text-anchor=\"end\">"
          << number(hi, "%.3g") << "</text>\n";
    }
    svg << "</g>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace legato::eval
