// Pitch spelling and chord naming as music21 does them, for the seed tokenizer.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace legato::midi {

// music21's default spelling of a MIDI pitch: C C# D E- E F F# G G# A B- B and the octave,
// middle C (60) being "C4": 61 -> "C#4", 51 -> "E-3", 0 -> "C-1".
std::string pitch_name(int midi_pitch);
// The inverse, accepting any spelling music21 prints ("B-3", "C##4", "D--2"); nullopt if malformed.
std::optional<int> parse_pitch_name(std::string_view name);

// music21's Chord.normalOrder: the chord's pitch classes ordered as its set class's transposed
// normal form from Forte's table (inverted forms mirrored), transposed onto the chord.
// {0,4,7} -> 0 4 7, {4,9} -> 4 9, {0,5,9} -> 5 9 0, {7} -> 7. Duplicates and order are ignored.
std::vector<int> normal_order(std::vector<int> pitch_classes);

}  // namespace legato::midi
