// MIDI output ports through rtmidi, on every back-end it was built with (ALSA sequencer, JACK).
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

class RtMidiOut;

namespace legato::render {

class JackMidiOut;  // midi_out.cpp: JACK output without rtmidi's

// No MIDI system to talk to, no port, or a port name that matches none: the message says which
// and lists what there is.
class PlaybackError : public std::runtime_error {
 public:
  enum class Kind { kNoMidiSystem, kUnknownPort };
  PlaybackError(Kind kind, const std::string& what) : std::runtime_error(what), kind(kind) {}
  Kind kind;
};

// A MIDI port of either direction (list_input_ports gives inputs in the same form).
struct OutputPort {
  int api = 0;           // RtMidi::Api
  std::string api_name;  // "alsa", "jack"
  unsigned index = 0;    // within its back-end
  std::string name;      // as the back-end names it, e.g. "FLUID Synth (1234):Synth input port (1234:0)"
};

// Every output port of every back-end that answers. Throws PlaybackError (kNoMidiSystem) when
// no back-end can be reached at all: no ALSA sequencer and no JACK server.
std::vector<OutputPort> list_output_ports();
// The same for the ports one can listen to (a keyboard's, a sequencer's output).
std::vector<OutputPort> list_input_ports();
// The port `port` names among `ports`, as MidiOutput chooses it; PlaybackError (kUnknownPort)
// naming the `direction` ("output", "input") and listing the ports when none or several match.
const OutputPort& choose_port(const std::vector<OutputPort>& ports, const std::string& port, const char* direction);

// One open output port. `port` is an index into list_output_ports(), a port's full name, or a
// piece of one name (case-insensitive); empty picks the first port that is not ALSA's "Midi Through".
class MidiOutput {
 public:
  explicit MidiOutput(const std::string& port, const std::string& client_name = "legato");
  ~MidiOutput();
  MidiOutput(const MidiOutput&) = delete;
  MidiOutput& operator=(const MidiOutput&) = delete;

  const OutputPort& port() const { return port_; }
  void send(const uint8_t* bytes, size_t size);
  // Control change 123 (all notes off) and 120 (all sound off) on every channel.
  void silence();

 private:
  OutputPort port_;
  std::string last_warning_;           // outlives out_, whose error callback writes here
  std::unique_ptr<RtMidiOut> out_;     // ALSA (null on JACK)
  std::unique_ptr<JackMidiOut> jack_;  // JACK (null on ALSA)
};

}  // namespace legato::render
