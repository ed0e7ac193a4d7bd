#include "midi/key.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>

namespace legato::midi {

int key_signature(const Score& score) {
  static constexpr bool kMajor[12] = {true, false, true, false, true, true, false, true, false, true, false, true};
  std::array<int64_t, 12> counts{};
  int64_t pitched = 0;
  for (const Note& n : score.notes)
    if (!n.is_drum()) ++counts[static_cast<size_t>(n.pitch % 12)], ++pitched;
  if (pitched == 0) return -1;
  int best = 0;
  int64_t best_inside = -1;
  for (int tonic = 0; tonic < 12; ++tonic) {
    int64_t inside = 0;
    for (int pc = 0; pc < 12; ++pc)
      if (kMajor[(pc - tonic + 12) % 12]) inside += counts[static_cast<size_t>(pc)];
    if (inside > best_inside) best = tonic, best_inside = inside;
  }
  return best;
}

int shift_to_c(int tonic) {
  const int up = (12 - tonic % 12) % 12;  // 0..11 semitones up to the next C
  return up > 5 ? up - 12 : up;           // the nearer way: at most 6 down, 5 up
}

int shift_to_c(const Score& score) {
  const int tonic = key_signature(score);
  if (tonic < 0) return 0;
  int lowest = 127, highest = 0;
  for (const Note& n : score.notes)
    if (!n.is_drum()) lowest = std::min(lowest, n.pitch), highest = std::max(highest, n.pitch);
  return shift_to_c(tonic, lowest, highest);
}

int shift_to_c(int tonic, int lowest, int highest) { return std::clamp(shift_to_c(tonic), -lowest, 127 - highest); }

}  // namespace legato::midi

namespace legato::midi {
namespace {

constexpr const char* kTonicNames[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};

// Pearson's correlation of the pitch-class counts with a key profile rotated onto `tonic`.
double correlation(const std::array<double, 12>& counts, const std::array<double, 12>& profile, int tonic) {
  double mean_c = 0, mean_p = 0;
  for (int k = 0; k < 12; ++k) mean_c += counts[size_t(k)] / 12, mean_p += profile[size_t(k)] / 12;
  double cp = 0, cc = 0, pp = 0;
  for (int pc = 0; pc < 12; ++pc) {
    const double c = counts[size_t(pc)] - mean_c, p = profile[size_t((pc - tonic + 12) % 12)] - mean_p;
    cp += c * p, cc += c * c, pp += p * p;
  }
  return cc > 0 && pp > 0 ? cp / std::sqrt(cc * pp) : 0;
}

}  // namespace

std::optional<Key> detect_key(const Score& score) {
  // Krumhansl and Kessler's probe-tone ratings (1982), from the tonic up.
  static constexpr std::array<double, 12> kMajorProfile = {6.35, 2.23, 3.48, 2.33, 4.38, 4.09,
                                                           2.52, 5.19, 2.39, 3.66, 2.29, 2.88};
  static constexpr std::array<double, 12> kMinorProfile = {6.33, 2.68, 3.52, 5.38, 2.60, 3.53,
                                                           2.54, 4.75, 3.98, 2.69, 3.34, 3.17};
  const int signature = key_signature(score);
  if (signature < 0) return std::nullopt;
  std::array<double, 12> counts{};
  for (const Note& n : score.notes)
    if (!n.is_drum()) counts[static_cast<size_t>(n.pitch % 12)] += 1;
  const int relative_minor = key_in(signature, true).tonic;
  const bool minor = correlation(counts, kMinorProfile, relative_minor) > correlation(counts, kMajorProfile, signature);
  return key_in(signature, minor);
}

int signature_of(const Key& key) { return key.minor ? (key.tonic + 3) % 12 : key.tonic; }

Key key_in(int signature, bool minor) { return {minor ? (signature + 9) % 12 : signature, minor}; }

std::string key_name(const Key& key) {
  return std::string(kTonicNames[((key.tonic % 12) + 12) % 12]) + (key.minor ? " minor" : " major");
}

std::optional<Key> parse_key(std::string_view text) {
  std::string s;
  for (char c : text)
    if (c != ' ') s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s.empty()) return std::nullopt;
  static constexpr int kLetters[7] = {9, 11, 0, 2, 4, 5, 7};  // a b c d e f g
  if (s[0] < 'a' || s[0] > 'g') return std::nullopt;
  int tonic = kLetters[s[0] - 'a'];
  size_t at = 1;
  if (at < s.size() && s[at] == '#')
    tonic += 1, ++at;
  else if (at < s.size() && s[at] == 'b')
    tonic -= 1, ++at;
  const std::string mode = s.substr(at);
  bool minor = false;
  if (mode == "m" || mode == "min" || mode == "minor")
    minor = true;
  else if (!mode.empty() && mode != "maj" && mode != "major")
    return std::nullopt;
  return Key{(tonic + 12) % 12, minor};
}

}  // namespace legato::midi
