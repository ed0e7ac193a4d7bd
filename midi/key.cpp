#include "midi/key.h"

#include <algorithm>
#include <array>

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
