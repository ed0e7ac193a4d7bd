#pragma once
// Building scores note by note in tests.
#include <cstdint>

#include "midi/score.h"

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

}  // namespace legato::testing
