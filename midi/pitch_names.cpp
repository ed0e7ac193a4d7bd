#include "midi/pitch_names.h"

#include <algorithm>
#include <array>

namespace legato::midi {
namespace {

constexpr std::array<const char*, 12> kNames = {"C", "C#", "D", "E-", "E", "F", "F#", "G", "G#", "A", "B-", "B"};

using Form = std::vector<int>;

// Rotation of the sorted set, transposed to start on 0, that is most packed to the left:
// smallest span first, then smallest intervals from the first note (Forte's rule, which is
// what music21's chord tables hold, e.g. 5-20 = 0 1 3 7 8 where Rahn's rule gives 0 1 5 6 8).
Form packed_left(const Form& sorted) {
  const size_t n = sorted.size();
  Form best;
  for (size_t r = 0; r < n; ++r) {
    Form t(n);
    for (size_t i = 0; i < n; ++i) t[i] = (sorted[(r + i) % n] - sorted[r] + 12) % 12;
    if (best.empty() || t.back() < best.back() || (t.back() == best.back() && t < best)) best = t;
  }
  return best;
}

Form inverted(const Form& set) {
  Form inv;
  for (int pc : set) inv.push_back((12 - pc) % 12);
  std::sort(inv.begin(), inv.end());
  return inv;
}

// The same intervals read from the top: 0 3 7 -> 0 4 7 (how the table writes an inverted form).
Form mirrored(const Form& form) {
  Form m;
  for (size_t i = form.size(); i-- > 0;) m.push_back(form.back() - form[i]);
  return m;
}

bool is_rotation_of(const Form& candidate, const Form& sorted) {
  for (size_t r = 0; r < sorted.size(); ++r) {
    bool same = true;
    for (size_t i = 0; i < sorted.size() && same; ++i)
      same = (sorted[(r + i) % sorted.size()] - sorted[r] + 12) % 12 == candidate[i];
    if (same) return true;
  }
  return false;
}

}  // namespace

std::string pitch_name(int midi_pitch) {
  const int pc = ((midi_pitch % 12) + 12) % 12;
  const int octave = (midi_pitch - pc) / 12 - 1;
  std::string name = kNames[size_t(pc)];
  name += std::to_string(octave);
  return name;
}

std::optional<int> parse_pitch_name(std::string_view s) {
  static constexpr int kLetter[7] = {9, 11, 0, 2, 4, 5, 7};  // A B C D E F G
  if (s.empty() || s[0] < 'A' || s[0] > 'G') return std::nullopt;
  int pc = kLetter[s[0] - 'A'];
  size_t i = 1;
  // A '-' is read as a flat, never as the sign of octave -1: music21's own "E-1" is equally
  // ambiguous, and only the eleven pitches below MIDI 12 are affected.
  for (; i < s.size() && (s[i] == '#' || s[i] == '-'); ++i) pc += s[i] == '#' ? 1 : -1;
  const std::string_view digits = s.substr(i);
  if (digits.empty() || digits.size() > 2) return std::nullopt;
  int octave = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    octave = octave * 10 + (c - '0');
  }
  const int midi = (octave + 1) * 12 + pc;
  if (midi < 0 || midi > 127) return std::nullopt;
  return midi;
}

std::vector<int> normal_order(std::vector<int> pcs) {
  for (int& pc : pcs) pc = ((pc % 12) + 12) % 12;
  std::sort(pcs.begin(), pcs.end());
  pcs.erase(std::unique(pcs.begin(), pcs.end()), pcs.end());
  if (pcs.size() <= 1) return pcs;
  const Form direct = packed_left(pcs), inverse = packed_left(inverted(pcs));
  const Form prime = std::min(direct, inverse);
  // Symmetric set classes and sets in the prime's own orientation use the prime form; the
  // others (Forte's "B" forms, e.g. the major triad 3-11B) use its mirror image.
  const bool symmetric = direct == inverse;
  const Form form = (symmetric || is_rotation_of(prime, pcs)) ? prime : mirrored(prime);
  for (int t = 0; t < 12; ++t) {
    std::vector<int> candidate;
    for (int pc : form) candidate.push_back((pc + t) % 12);
    std::vector<int> sorted = candidate;
    std::sort(sorted.begin(), sorted.end());
    if (sorted == pcs) return candidate;
  }
  return pcs;  // unreachable: some transposition of the form is the set itself
}

}  // namespace legato::midi
