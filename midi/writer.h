// Standard MIDI File writer: format 1, a tempo track (tempo, meter and key maps) and one track per
// instrument (channel and program) that starts with its program change.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "midi/score.h"

namespace legato::midi {

// The reader reads back what this writes: same notes (track numbers become 1, 2, ... in the
// order instruments first sound), same tempo, meter and key maps, same division. A note nested
// inside a longer one of the same pitch and instrument (only possible when several source tracks
// were merged) goes to a further track of that instrument, since note-offs pair first-in first-out.
std::vector<uint8_t> write_midi(const Score& score);
void write_midi_file(const Score& score, const std::filesystem::path& path);
// `bytes` (a file made elsewhere, e.g. by with_notes) as the file at `path`.
void write_midi_bytes(const std::vector<uint8_t>& bytes, const std::filesystem::path& path);

}  // namespace legato::midi
