#include "midi/hands.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace legato::midi {

namespace {

constexpr int kHandSpan = 12;  // semitones: notes struck together over more than an octave need both hands

bool is_piano_part(const Note& n) { return !n.is_drum() && n.program >= 0 && n.program <= 7; }

// The lowest channel no note or program change of `score` uses, skipping the drums'; -1 if none.
int free_channel(const Score& score) {
  std::array<bool, 16> used{};
  used[kDrumChannel] = true;
  for (const Note& n : score.notes) used[static_cast<size_t>(n.channel)] = true;
  for (const ProgramChange& p : score.program_changes) used[static_cast<size_t>(p.channel)] = true;
  for (int c = 0; c < 16; ++c)
    if (!used[static_cast<size_t>(c)]) return c;
  return -1;
}

double mean_pitch(const std::vector<Note>& notes, const std::vector<size_t>& part, size_t from, size_t to) {
  double sum = 0;
  for (size_t k = from; k < to; ++k) sum += notes[part[k]].pitch;
  return sum / static_cast<double>(to - from);
}

// part: indices into `notes` of one channel's notes, by start tick then pitch. Returns, for each,
// whether it goes to the left hand.
std::vector<bool> left_hand_of(const std::vector<Note>& notes, const std::vector<size_t>& part) {
  std::vector<bool> left(part.size(), false);
  double right_at = 67, left_at = 48;  // G4 and C3: where each hand last played (mean pitch)
  for (size_t a = 0; a < part.size();) {
    size_t b = a;
    while (b < part.size() && notes[part[b]].start_tick == notes[part[a]].start_tick) ++b;
    // [a, b) start together, lowest first; [a, first_right) goes to the left hand.
    size_t first_right = a;
    if (notes[part[b - 1]].pitch - notes[part[a]].pitch > kHandSpan) {
      int widest = -1;
      for (size_t k = a + 1; k < b; ++k)
        if (const int gap = notes[part[k]].pitch - notes[part[k - 1]].pitch; gap > widest)
          widest = gap, first_right = k;
    } else {
      const double at = mean_pitch(notes, part, a, b);
      first_right = std::abs(at - left_at) < std::abs(at - right_at) ? b : a;
    }
    for (size_t k = a; k < first_right; ++k) left[k] = true;
    if (first_right > a) left_at = mean_pitch(notes, part, a, first_right);
    if (first_right < b) right_at = mean_pitch(notes, part, first_right, b);
    a = b;
  }
  return left;
}

}  // namespace

int split_hands(Score& score) {
  std::array<bool, 16> piano{};  // the channels to split, found before any left hand takes one
  for (const Note& n : score.notes) piano[static_cast<size_t>(n.channel)] |= is_piano_part(n);
  int moved = 0;
  for (int channel = 0; channel < 16; ++channel) {
    if (!piano[static_cast<size_t>(channel)]) continue;
    std::vector<size_t> part;
    for (size_t k = 0; k < score.notes.size(); ++k)
      if (score.notes[k].channel == channel && is_piano_part(score.notes[k])) part.push_back(k);
    if (part.empty()) continue;
    std::stable_sort(part.begin(), part.end(), [&](size_t x, size_t y) {
      const Note &a = score.notes[x], &b = score.notes[y];
      return a.start_tick != b.start_tick ? a.start_tick < b.start_tick : a.pitch < b.pitch;
    });
    const std::vector<bool> left = left_hand_of(score.notes, part);
    if (std::none_of(left.begin(), left.end(), [](bool l) { return l; })) continue;
    const int left_channel = free_channel(score);
    if (left_channel < 0) break;
    const int track = score.track_count++;
    score.track_has_notes.resize(static_cast<size_t>(score.track_count), false);
    score.track_has_notes[static_cast<size_t>(track)] = true;
    score.program_changes.push_back({0, track, left_channel, score.notes[part.front()].program});
    for (size_t k = 0; k < part.size(); ++k)
      if (left[k]) {
        Note& n = score.notes[part[k]];
        n.channel = left_channel, n.track = track, ++moved;
      }
  }
  if (moved == 0) return 0;  // the score as it came
  // Keep Score's order: notes by start tick, then track.
  std::stable_sort(score.notes.begin(), score.notes.end(), [](const Note& a, const Note& b) {
    return a.start_tick != b.start_tick ? a.start_tick < b.start_tick : a.track < b.track;
  });
  std::stable_sort(score.program_changes.begin(), score.program_changes.end(),
                   [](const ProgramChange& a, const ProgramChange& b) { return a.tick < b.tick; });
  return moved;
}

}  // namespace legato::midi
