#include "midi/controls.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace legato::midi {

double notes_per_beat(const Score& score) {
  if (score.notes.empty()) return 0;
  int64_t first = score.notes.front().start_tick, last = first;
  for (const Note& n : score.notes) first = std::min(first, n.start_tick), last = std::max(last, n.end_tick());
  // At least one beat: a single chord is not infinitely dense.
  const double beats = std::max(1.0, score.quarters_at(last - first));
  return static_cast<double>(score.notes.size()) / beats;
}

int pitch_percentile(const Score& score, double share) {
  std::vector<int> pitches;
  for (const Note& n : score.notes)
    if (!n.is_drum()) pitches.push_back(n.pitch);
  if (pitches.empty()) return -1;
  const auto at = std::min(pitches.size() - 1, static_cast<size_t>(static_cast<double>(pitches.size()) * share));
  std::nth_element(pitches.begin(), pitches.begin() + static_cast<std::ptrdiff_t>(at), pitches.end());
  return pitches[at];
}

double music_seconds(const Score& score) {
  double end = 0;
  for (const Note& n : score.notes) end = std::max(end, n.start_seconds + n.duration_seconds);
  return end;
}

std::array<double, 2> tertiles(std::vector<double> densities) {
  if (densities.empty()) return {0, 0};
  std::sort(densities.begin(), densities.end());
  auto quantile = [&](double q) {  // linear interpolation between the order statistics (NumPy's default)
    const double at = q * static_cast<double>(densities.size() - 1);
    const auto below = static_cast<size_t>(std::floor(at));
    const size_t above = std::min(below + 1, densities.size() - 1);
    return densities[below] + (at - static_cast<double>(below)) * (densities[above] - densities[below]);
  };
  return {quantile(1.0 / 3), quantile(2.0 / 3)};
}

int density_class(double notes_per_beat, const std::array<double, 2>& bounds) {
  return notes_per_beat < bounds[0] ? 0 : notes_per_beat < bounds[1] ? 1 : 2;
}

std::string key_token(const Key& key) { return "<key:" + key_name(key) + ">"; }

std::string density_token(int density_class) {
  if (density_class < 0 || density_class > 2) throw std::invalid_argument("density class outside 0..2");
  return "<density:" + std::string(kDensityClasses[static_cast<size_t>(density_class)]) + ">";
}

std::string style_token(const std::string& style) { return "<style:" + style + ">"; }

std::optional<std::pair<std::string, std::string>> control_of(std::string_view token) {
  if (token.size() < 3 || token.front() != '<' || token.back() != '>') return std::nullopt;
  const size_t colon = token.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string name(token.substr(1, colon - 1));
  if (std::find(kControlNames.begin(), kControlNames.end(), name) == kControlNames.end()) return std::nullopt;
  return std::make_pair(name, std::string(token.substr(colon + 1, token.size() - colon - 2)));
}

bool is_control_token(std::string_view token) { return control_of(token).has_value(); }

}  // namespace legato::midi
