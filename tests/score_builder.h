#pragma once
// Building scores note by note in tests.
#include <algorithm>
#include <cstdint>

#include "midi/score.h"
#include "midi/tokenizer_event.h"

namespace legato::testing {

inline midi::Note make_note(int pitch, int64_t start_tick, int64_t duration_ticks, int channel = 0, int program = 0,
                            int velocity = 96) {
  midi::Note n;
  n.pitch = pitch;
  n.velocity = velocity;
  n.start_tick = start_tick;
  n.duration_ticks = duration_ticks;
  n.channel = channel;
  n.program = program;
  return n;
}

// A melody on the scale of `tonic` (major, or harmonic minor) from `low` (a C) + tonic over two octaves,
// with a chord note every fourth note, a chromatic passing note every eleventh and a drum hit
// every third that no key may count.
inline midi::Score scale_piece(int tonic, bool minor, int notes = 120, int low = 48) {
  static constexpr int kMajorSteps[7] = {0, 2, 4, 5, 7, 9, 11};
  static constexpr int kHarmonicMinorSteps[7] = {0, 2, 3, 5, 7, 8, 11};  // the raised 7th leaves the relative major
  midi::Score score;
  score.ticks_per_quarter = 480;
  const int* steps = minor ? kHarmonicMinorSteps : kMajorSteps;
  for (int k = 0; k < notes; ++k) {
    const int degree = (k * 3 + k / 5) % 14;
    int pitch = low + tonic + 12 * (degree / 7) + steps[degree % 7];
    if (k % 11 == 10) pitch += 1;  // off the scale
    score.notes.push_back(make_note(pitch, 240 * k, 240));
    if (k % 4 == 0) score.notes.push_back(make_note(pitch - 12, 240 * k, 480));
    if (k % 3 == 0) score.notes.push_back(make_note(37 + k % 5, 240 * k, 60, midi::kDrumChannel));
  }
  score.update_times();
  return score;
}

// scale_piece in C major with each pitched note doubled `extra` octaves up as well: pieces of three
// densities (extra 0, 1, 2) for a network trained with --controls density.
inline midi::Score doubled_scale_piece(int extra) {
  midi::Score s = scale_piece(0, false, 120);
  for (size_t n = 0, end = s.notes.size(); n < end; ++n)
    for (int k = 1; k <= extra; ++k)
      if (!s.notes[n].is_drum()) s.notes.push_back(s.notes[n]), s.notes.back().pitch += 12 * k;
  std::stable_sort(s.notes.begin(), s.notes.end(),
                   [](const midi::Note& a, const midi::Note& b) { return a.start_tick < b.start_tick; });
  return s;
}

// 120 eighth triplets over a bass note on each beat, 480 ticks a quarter: onsets on positions 0, 4
// and 8 only of the event scheme's 12 grid steps in a beat, the beat's the most (a grid the test
// networks, which strike anywhere, are held to); the last at grid step 476, position 8.
inline midi::Score triplets_piece() {
  midi::Score score;
  score.ticks_per_quarter = 480;
  for (int k = 0; k < 120; ++k) {
    score.notes.push_back(make_note(60 + (k * 2) % 12, 160 * k, 100));
    if (k % 3 == 0) score.notes.push_back(make_note(48, 160 * k, 400));
  }
  score.update_times();
  return score;
}

// How many onsets of scores fall on triplets_piece()'s positions (grid steps that are multiples of 4).
struct TripletCount {
  double onsets = 0, kept = 0;
  // The onsets of `s` in grid steps [from, to).
  void add(const midi::Score& s, int64_t from = 0, int64_t to = INT64_MAX) {
    for (const midi::Note& n : s.notes)
      if (const int64_t step = midi::EventTokenizer().to_steps(n.start_tick, s.ticks_per_quarter);
          step >= from && step < to)
        onsets += 1, kept += step % 4 == 0 ? 1 : 0;
  }
  double share() const { return onsets > 0 ? kept / onsets : 0.0; }
};

}  // namespace legato::testing
