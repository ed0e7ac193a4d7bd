// A file rewritten with some of its notes replaced and everything else of it kept: composer
// --infill's output, where the music outside the gap must stay the file the musician gave, not
// only its notes (its tracks and their names, the sustain pedal and other controllers, pitch bends,
// a channel's program changes between its notes, lyrics and markers).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "midi/score.h"

namespace legato::midi {

struct NoteEdit {
  // Whether the file's note of this track, channel and pitch that starts at this tick goes: its
  // note-on is left out, and so is a note-off that ends only notes that go. Notes are the reader's
  // (pretty_midi's pairing: read_midi's default), so a file's notes that stay read back the same.
  std::function<bool(int track, int channel, int pitch, int64_t start_tick)> removed;
  // Notes to add, each written in its Note::track, on its channel, after the file's events at its
  // start tick; where its channel plays another program there, between a program change to its own
  // and one back (drums: none).
  std::vector<Note> added;
};

// The bytes of `original`, a Standard MIDI File, with `edit` made and every other event kept as it
// was, in its order: the header's format, track count and division too; events are written whole
// (no running status). nullopt, with the reason in `why`, for a file that does not parse strictly
// (one the lenient reader had to repair): the caller writes a new file instead. Throws
// std::invalid_argument for an added note of a track the file does not have.
std::optional<std::vector<uint8_t>> with_notes(std::span<const uint8_t> original, const NoteEdit& edit,
                                               std::string& why);

}  // namespace legato::midi
