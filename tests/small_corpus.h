#pragma once
// Small piano pieces (three unless told) written as MIDI files into a fresh temporary folder: arpeggios and
// chords on a 16th-note grid, enough for a few windows of training.
#include <algorithm>
#include <filesystem>
#include <string>

#include "midi/writer.h"
#include "score_builder.h"
#include "temp_dir.h"

namespace legato::testing {

inline std::filesystem::path write_small_corpus(const std::string& name, int pieces = 3) {
  const auto dir = temp_dir(name);
  for (int piece = 0; piece < pieces; ++piece) {
    midi::Score score;
    score.ticks_per_quarter = 480;
    for (int k = 0; k < 150; ++k) {
      midi::Note n = make_note(48 + (k * (5 + piece) + (k / 7) * 3) % 36, 120 * k, 120 * (1 + k % 3), 0, 0, 80);
      score.notes.push_back(n);
      if (k % 4 == 0) {  // a chord note at the same onset
        n.pitch = std::min(127, n.pitch + 4);
        score.notes.push_back(n);
      }
    }
    score.update_times();
    midi::write_midi_file(score, dir / ("piece" + std::to_string(piece) + ".mid"));
  }
  return dir;
}

}  // namespace legato::testing
