#pragma once
// Where the live engine's MIDI goes: a port of the program's (render::MidiOutput), an LV2 plugin's
// output sequence, a benchmark's recorder. Called on the real-time side: it must not block long.
#include <cstddef>
#include <cstdint>

namespace legato::live {

class MidiSink {
 public:
  virtual ~MidiSink() = default;
  // `due_seconds`: when the message was meant to sound, on the caller's clock (a plugin places it
  // at that frame of the block; a program sends it now, its lateness the difference).
  virtual void send(const uint8_t* bytes, size_t size, double due_seconds) = 0;
};

}  // namespace legato::live
