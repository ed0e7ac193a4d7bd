// A MIDI input port to listen to (composer --listen): JACK through libjack, ALSA through rtmidi.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "render/midi_out.h"

class RtMidiIn;

namespace legato::render {

class JackMidiIn;  // midi_in.cpp

class MidiInput {
 public:
  // Raw bytes as they arrive, on the MIDI system's own thread (JACK's real-time one): the callee
  // must not block. One JACK event or one rtmidi message per call.
  using OnBytes = std::function<void(const uint8_t* bytes, size_t size)>;
  // `port`: an index into list_input_ports(), a name or a piece of one; empty: the first that is
  // not ALSA's "Midi Through". On JACK, a port that goes away is connected again when it returns.
  MidiInput(const std::string& port, const std::string& client_name, OnBytes on_bytes);
  ~MidiInput();
  MidiInput(const MidiInput&) = delete;
  MidiInput& operator=(const MidiInput&) = delete;

  const OutputPort& port() const { return port_; }

 private:
  OutputPort port_;
  OnBytes on_bytes_;                  // outlives in_ and jack_, whose threads call it
  std::unique_ptr<RtMidiIn> in_;      // ALSA (null on JACK)
  std::unique_ptr<JackMidiIn> jack_;  // JACK (null on ALSA)
};

}  // namespace legato::render
