// General MIDI names, for legends and listings.
#pragma once

#include <string>

namespace legato::render {

// "Acoustic Grand Piano" for program 0 ... "Gunshot" for 127.
const char* gm_program_name(int program);
// The instrument a note plays: its program's name, or "Drums" on channel 10.
std::string instrument_name(int program, bool drums);

}  // namespace legato::render
