#include "render/midi_in.h"

#include <rtmidi/RtMidi.h>

#include <atomic>
#include <chrono>
#include <thread>

#ifdef LEGATO_HAVE_JACK
#include <jack/jack.h>
#include <jack/midiport.h>
#endif

namespace legato::render {

#ifdef LEGATO_HAVE_JACK
// A JACK input port of our own: its process callback hands each event on as it is, and a watcher
// connects the source to it whenever the source exists and is not connected (a keyboard unplugged
// and plugged in again, a sequencer restarted), which rtmidi's JACK input does not.
class JackMidiIn {
 public:
  JackMidiIn(const std::string& client_name, const std::string& source, const MidiInput::OnBytes& on_bytes)
      : source_(source), on_bytes_(on_bytes) {
    client_ = jack_client_open(client_name.c_str(), JackNoStartServer, nullptr);
    if (!client_) throw PlaybackError(PlaybackError::Kind::kNoMidiSystem, "the jack MIDI system went away");
    port_ = jack_port_register(client_, "in", JACK_DEFAULT_MIDI_TYPE, JackPortIsInput, 0);
    if (!port_ || jack_set_process_callback(client_, process, this) != 0 || jack_activate(client_) != 0) {
      close();
      throw PlaybackError(PlaybackError::Kind::kNoMidiSystem, "cannot open a JACK MIDI input port");
    }
    if (!connect()) {
      close();
      throw PlaybackError(PlaybackError::Kind::kNoMidiSystem, "cannot connect from MIDI port '" + source + "'");
    }
    watcher_ = std::thread([this] { watch(); });
  }
  ~JackMidiIn() {
    stop_ = true;
    watcher_.join();
    close();
  }
  JackMidiIn(const JackMidiIn&) = delete;
  JackMidiIn& operator=(const JackMidiIn&) = delete;

 private:
  // JACK's real-time thread.
  static int process(jack_nframes_t frames, void* arg) {
    auto* self = static_cast<JackMidiIn*>(arg);
    void* buffer = jack_port_get_buffer(self->port_, frames);
    const jack_nframes_t count = jack_midi_get_event_count(buffer);
    for (jack_nframes_t k = 0; k < count; ++k) {
      jack_midi_event_t event;
      if (jack_midi_event_get(&event, buffer, k) == 0) self->on_bytes_(event.buffer, event.size);
    }
    return 0;
  }

  // True when the source is connected to us (now or already); false when it is not there.
  bool connect() {
    jack_port_t* source = jack_port_by_name(client_, source_.c_str());
    if (!source) return false;
    if (jack_port_connected_to(port_, source_.c_str())) return true;
    return jack_connect(client_, source_.c_str(), jack_port_name(port_)) == 0;
  }

  void watch() {
    while (!stop_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      connect();
    }
  }

  // Deactivated first: from then on JACK calls process() no more.
  void close() {
    if (client_) {
      jack_deactivate(client_);
      jack_client_close(client_);
    }
    client_ = nullptr;
  }

  std::string source_;
  const MidiInput::OnBytes& on_bytes_;
  jack_client_t* client_ = nullptr;
  jack_port_t* port_ = nullptr;
  std::atomic<bool> stop_{false};
  std::thread watcher_;
};
#else
class JackMidiIn {};  // never made: without libjack's headers JACK inputs go through rtmidi
#endif

MidiInput::MidiInput(const std::string& port, const std::string& client_name, OnBytes on_bytes)
    : on_bytes_(std::move(on_bytes)) {
  const std::vector<OutputPort> ports = list_input_ports();
  if (ports.empty())
    throw PlaybackError(PlaybackError::Kind::kNoMidiSystem,
                        "no MIDI input port: connect a keyboard (or start a sequencer) and try again");
  port_ = choose_port(ports, port, "input");
#ifdef LEGATO_HAVE_JACK
  if (port_.api == RtMidi::UNIX_JACK) {
    jack_ = std::make_unique<JackMidiIn>(client_name, port_.name, on_bytes_);
    return;
  }
#endif
  try {
    in_ = std::make_unique<RtMidiIn>(RtMidi::Api(port_.api), client_name);
    in_->setCallback([](double, std::vector<unsigned char>* message,
                        void* self) { static_cast<MidiInput*>(self)->on_bytes_(message->data(), message->size()); },
                     this);
    // Indices can shift when clients come and go: find the port by name again.
    for (unsigned k = 0; k < in_->getPortCount(); ++k)
      if (in_->getPortName(k) == port_.name) {
        in_->openPort(k, "in");
        return;
      }
  } catch (const RtMidiError& e) {
    throw PlaybackError(PlaybackError::Kind::kNoMidiSystem,
                        "cannot open MIDI port '" + port_.name + "': " + e.getMessage());
  }
  throw PlaybackError(PlaybackError::Kind::kUnknownPort, "MIDI port '" + port_.name + "' went away");
}

MidiInput::~MidiInput() = default;

}  // namespace legato::render
