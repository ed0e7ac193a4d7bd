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

}  // namespace legato::testing
