// A piano roll as SVG: time across (quarter notes, with a line at every bar from the score's time
// signatures), pitch up (a row per semitone, C lines labelled), one colour per instrument.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "midi/score.h"

namespace legato::render {

struct RollOptions {
  std::string title;              // shown above the roll
  double pixels_per_quarter = 0;  // 0: fit the piece into about 1600 pixels (2..32 per quarter)
  double row_height = 0;          // pixels per semitone; 0: about 400 pixels for the pitch range
};

// Where each bar starts, in ticks, up to the last note's end. A time signature starts a new bar
// where it stands; without any the score is in 4/4 from tick 0.
std::vector<double> bar_ticks(const midi::Score& score);

// Elements by class: rect "note" (one per note), line "bar", line "octave", rect "legend" (one per
// instrument, in order of first appearance), rect "background".
std::string piano_roll_svg(const midi::Score& score, const RollOptions& options = {});

// Writes text to a file atomically (base/atomic_file.h); throws std::runtime_error naming the file.
void write_text_file(const std::filesystem::path& path, const std::string& text);

}  // namespace legato::render
