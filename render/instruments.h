// General MIDI names, for legends and listings.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "midi/score.h"

namespace legato::render {

// "Acoustic Grand Piano" for program 0 ... "Gunshot" for 127.
const char* gm_program_name(int program);
// The instrument a note plays: its program's name, or "Drums" on channel 10.
std::string instrument_name(int program, bool drums);

// A comma-separated list of instruments as programs (-1 for drums): General MIDI names in any
// case ("acoustic bass"), the short names piano, guitar, bass, strings, organ and drums, or
// program numbers 0..127. std::invalid_argument, in one line with every known name, for an
// unknown one.
std::vector<int> parse_instruments(std::string_view list);
// Names every channel's track after its instrument ("Acoustic Bass", "Drums"); a piano split into
// two hands (midi/hands.h: the same program on two channels) gets "(right hand)" on its higher
// channel by mean pitch and "(left hand)" on the lower.
void name_parts(midi::Score& score);
// "Acoustic Grand Piano, Acoustic Bass, Drums".
std::string ensemble_names(const std::vector<int>& instruments);

}  // namespace legato::render
