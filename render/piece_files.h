#pragma once
// A composed piece's files, written the same way by every program that writes them (composer,
// legato-serve): the MIDI file, its piano roll and its sound.
#include <filesystem>
#include <string>
#include <vector>

#include "midi/score.h"

namespace legato::render {

struct PieceFiles {
  std::filesystem::path mid;        // always written (its folder made where missing)
  std::filesystem::path svg;        // the piano roll; empty: none
  std::filesystem::path wav;        // the sound through FluidSynth (of mid_bytes with their sustain pedal where
                                    // given); empty, or a build without it: none
  std::string title;                // above the roll
  std::filesystem::path soundfont;  // the WAV's; empty: find_soundfont()
  // The .mid's bytes when they are not the score's own writing (composer --infill's edited file,
  // midi::with_notes); the score then is what they read back as.
  std::vector<uint8_t> mid_bytes;
};

// Writes the piece's files; returns a line for each SVG and WAV written, as `miditool roll` and
// `render` say them. Throws what the writers throw (a file that cannot be written).
std::vector<std::string> write_piece_files(const midi::Score& score, const PieceFiles& files);

}  // namespace legato::render
