#include "render/midi_out.h"

#include <rtmidi/RtMidi.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <iostream>
#include <sstream>
#include <thread>

#ifdef LEGATO_HAVE_JACK
#include <jack/jack.h>
#include <jack/midiport.h>
#include <jack/ringbuffer.h>
#endif
#ifdef LEGATO_HAVE_ALSA
#include <alsa/asoundlib.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
// rtmidi 5's JACK output creates its ring buffers before it knows whether a server is there and
// never frees them when none is: not ours to fix, and not to fail the sanitizer builds over.
extern "C" const char* __lsan_default_suppressions() { return "leak:jack_ringbuffer_create\n"; }
extern "C" const char* __lsan_default_options() { return "print_suppressions=0"; }
#endif

namespace legato::render {

namespace {

// rtmidi reports a missing back-end (no JACK server, say) as a warning on stderr; we note it
// and say it once, in our own words.
void note_warning(RtMidiError::Type, const std::string& text, void* last_warning) {
  *static_cast<std::string*>(last_warning) = text;
}

#ifdef LEGATO_HAVE_ALSA
void quiet_alsa(const char*, int, const char*, int, const char*, ...) {}
#endif

// The libraries under rtmidi print their own lines when a back-end is missing.
void quiet_backends() {
  static const bool once = [] {
#ifdef LEGATO_HAVE_JACK
    jack_set_error_function([](const char*) {});
    jack_set_info_function([](const char*) {});
#endif
#ifdef LEGATO_HAVE_ALSA
    snd_lib_error_set_handler(quiet_alsa);
#endif
    return true;
  }();
  (void)once;
}

// Port: RtMidiOut, or RtMidiIn for the listing of inputs.
template <class Port = RtMidiOut>
std::unique_ptr<Port> open_api(RtMidi::Api api, const std::string& client_name, std::string& last_warning) {
  quiet_backends();
  // rtmidi's constructors report on std::cerr before an error callback can be set.
  std::ostringstream said;
  std::streambuf* const cerr_buffer = std::cerr.rdbuf(said.rdbuf());
  std::unique_ptr<Port> out;
  try {
    out = std::make_unique<Port>(api, client_name);
    out->setErrorCallback(note_warning, &last_warning);
  } catch (const RtMidiError&) {
    out = nullptr;  // this back-end is not there (ALSA without a sequencer device, say)
  }
  std::cerr.rdbuf(cerr_buffer);
  last_warning += said.str();
  return out;
}

std::vector<RtMidi::Api> output_apis() {
  std::vector<RtMidi::Api> apis;
  RtMidi::getCompiledApi(apis);
  std::erase(apis, RtMidi::RTMIDI_DUMMY);
  return apis;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

std::string port_list(const std::vector<OutputPort>& ports) {
  std::string out;
  for (size_t k = 0; k < ports.size(); ++k)
    out += "\n  " + std::to_string(k) + ": " + ports[k].name + " (" + ports[k].api_name + ")";
  return out;
}

std::vector<OutputPort> ports_of(RtMidi& out, RtMidi::Api api) {
  std::vector<OutputPort> ports;
  const unsigned count = out.getPortCount();
  for (unsigned k = 0; k < count; ++k) ports.push_back({int(api), RtMidi::getApiName(api), k, out.getPortName(k)});
  return ports;
}

}  // namespace

#ifdef LEGATO_HAVE_JACK
// A JACK output port of our own rather than rtmidi's: rtmidi 5's MidiOutJack frees its ring buffer
// before it closes its client, so a process cycle that began while the port was being closed reads
// freed memory (`miditool play` died of SIGSEGV at exit, in jack_ringbuffer_peek under rtmidi's
// process callback, in about 1 run of 9 on a loaded 2-core machine). Here the client is deactivated
// before anything its process callback touches is freed; from then on JACK no longer calls it.
class JackMidiOut {
 public:
  JackMidiOut(const std::string& client_name, const std::string& destination) {
    jack_status_t status{};
    client_ = jack_client_open(client_name.c_str(), JackNoStartServer, &status);
    if (!client_) throw PlaybackError(PlaybackError::Kind::kNoMidiSystem, "the jack MIDI system went away");
    ring_ = jack_ringbuffer_create(kRingBytes);
    port_ = jack_port_register(client_, "out", JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput, 0);
    if (!ring_ || !port_ || jack_set_process_callback(client_, process, this) != 0 || jack_activate(client_) != 0) {
      close();
      throw PlaybackError(PlaybackError::Kind::kNoMidiSystem, "cannot open a JACK MIDI port");
    }
    if (!jack_port_by_name(client_, destination.c_str())) {
      close();
      throw PlaybackError(PlaybackError::Kind::kUnknownPort, "MIDI port '" + destination + "' went away");
    }
    if (jack_connect(client_, jack_port_name(port_), destination.c_str()) != 0) {
      close();
      throw PlaybackError(PlaybackError::Kind::kNoMidiSystem, "cannot connect to MIDI port '" + destination + "'");
    }
  }
  ~JackMidiOut() {
    // Messages leave at the next process cycle: wait until the queue is empty and one more cycle
    // has begun (the receiver reads our port in the cycle we write it), at most a second should the
    // server stop calling us.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    const auto wait_for = [&](auto done) {
      while (!done() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    };
    wait_for([&] { return jack_ringbuffer_read_space(ring_) == 0; });
    const uint64_t emptied = cycles_.load();
    wait_for([&] { return cycles_.load() > emptied + 1; });
    close();
  }
  JackMidiOut(const JackMidiOut&) = delete;
  JackMidiOut& operator=(const JackMidiOut&) = delete;

  // One writer (the player's thread): a size, then the bytes.
  void send(const uint8_t* bytes, size_t size) {
    const uint32_t n = uint32_t(size);
    if (sizeof n + n > kRingBytes / 2) return;  // no MIDI message we send is anywhere near
    while (jack_ringbuffer_write_space(ring_) < sizeof n + n)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the process callback drains it
    jack_ringbuffer_write(ring_, reinterpret_cast<const char*>(&n), sizeof n);
    jack_ringbuffer_write(ring_, reinterpret_cast<const char*>(bytes), n);
  }

 private:
  static constexpr size_t kRingBytes = 16384;

  // JACK's real-time thread: what was queued goes out at the start of this cycle.
  static int process(jack_nframes_t frames, void* arg) {
    auto* self = static_cast<JackMidiOut*>(arg);
    void* buffer = jack_port_get_buffer(self->port_, frames);
    jack_midi_clear_buffer(buffer);
    uint32_t n = 0;
    while (jack_ringbuffer_peek(self->ring_, reinterpret_cast<char*>(&n), sizeof n) == sizeof n &&
           jack_ringbuffer_read_space(self->ring_) >= sizeof n + n) {
      jack_ringbuffer_read_advance(self->ring_, sizeof n);
      if (jack_midi_data_t* event = jack_midi_event_reserve(buffer, 0, n))
        jack_ringbuffer_read(self->ring_, reinterpret_cast<char*>(event), n);
      else
        jack_ringbuffer_read_advance(self->ring_, n);  // the port's buffer is full: dropped
    }
    self->cycles_.fetch_add(1);
    return 0;
  }

  // In this order: once jack_deactivate returns, process() is not running and will not run again.
  void close() {
    if (client_) {
      jack_deactivate(client_);
      jack_client_close(client_);
    }
    if (ring_) jack_ringbuffer_free(ring_);
    client_ = nullptr;
    ring_ = nullptr;
  }

  jack_client_t* client_ = nullptr;
  jack_port_t* port_ = nullptr;
  jack_ringbuffer_t* ring_ = nullptr;
  std::atomic<uint64_t> cycles_{0};  // process cycles so far
};
#else
class JackMidiOut {  // never made: without libjack's headers, JACK ports go through rtmidi
 public:
  void send(const uint8_t*, size_t) {}
};
#endif

namespace {

// Every port of one direction (Port: RtMidiOut or RtMidiIn) of every back-end that answers.
template <class Port>
std::vector<OutputPort> list_ports() {
  std::vector<OutputPort> ports;
  bool reached = false;
  std::string tried;
  for (RtMidi::Api api : output_apis()) {
    tried += (tried.empty() ? "" : ", ") + RtMidi::getApiDisplayName(api);
    std::string warning;
    auto out = open_api<Port>(api, "legato", warning);
    if (!out) continue;
    // JACK's back-end opens fine without a server, warns, and then has no ports.
    auto found = ports_of(*out, api);
    if (found.empty() && warning.find("not running") != std::string::npos) continue;
    reached = true;
    ports.insert(ports.end(), found.begin(), found.end());
  }
  if (!reached)
    throw PlaybackError(PlaybackError::Kind::kNoMidiSystem,
                        "no MIDI system: neither an ALSA sequencer (/dev/snd/seq) nor a running JACK server "
                        "was found (tried " +
                            (tried.empty() ? std::string("no back-end") : tried) + ")");
  return ports;
}

}  // namespace

std::vector<OutputPort> list_output_ports() { return list_ports<RtMidiOut>(); }
std::vector<OutputPort> list_input_ports() { return list_ports<RtMidiIn>(); }

const OutputPort& choose_port(const std::vector<OutputPort>& ports, const std::string& port, const char* direction) {
  const OutputPort* chosen = nullptr;
  if (port.empty()) {
    for (const OutputPort& p : ports)
      if (lower(p.name).find("midi through") == std::string::npos) {
        chosen = &p;
        break;
      }
    if (!chosen) chosen = &ports.front();
  } else if (std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); })) {
    const size_t k = std::stoul(port);
    if (k < ports.size()) chosen = &ports[k];
  } else {
    for (const OutputPort& p : ports)
      if (p.name == port) chosen = &p;
    if (!chosen) {
      std::vector<const OutputPort*> partial;
      for (const OutputPort& p : ports)
        if (lower(p.name).find(lower(port)) != std::string::npos) partial.push_back(&p);
      if (partial.size() > 1)
        throw PlaybackError(PlaybackError::Kind::kUnknownPort,
                            "MIDI port '" + port + "' matches " + std::to_string(partial.size()) +
                                " ports; give more of the name or an index:" + port_list(ports));
      if (partial.size() == 1) chosen = partial.front();
    }
  }
  if (!chosen)
    throw PlaybackError(PlaybackError::Kind::kUnknownPort,
                        "no MIDI " + std::string(direction) + " port '" + port + "'; there are:" + port_list(ports));
  return *chosen;
}

MidiOutput::MidiOutput(const std::string& port, const std::string& client_name) {
  const std::vector<OutputPort> ports = list_output_ports();
  if (ports.empty())
    throw PlaybackError(PlaybackError::Kind::kNoMidiSystem,
                        "no MIDI output port: start a synthesizer (for example `fluidsynth -a jack -m jack "
                        "FILE.sf2`, or `-m alsa_seq`) and try again");
  port_ = choose_port(ports, port, "output");
#ifdef LEGATO_HAVE_JACK
  if (port_.api == RtMidi::UNIX_JACK) {
    jack_ = std::make_unique<JackMidiOut>(client_name, port_.name);
    return;
  }
#endif
  out_ = open_api(RtMidi::Api(port_.api), client_name, last_warning_);
  if (!out_)
    throw PlaybackError(PlaybackError::Kind::kNoMidiSystem, "the " + port_.api_name + " MIDI system went away");
  // Indices can shift when clients come and go: find the port by name again.
  const auto now = ports_of(*out_, RtMidi::Api(port_.api));
  const auto it = std::find_if(now.begin(), now.end(), [&](const OutputPort& p) { return p.name == port_.name; });
  if (it == now.end())
    throw PlaybackError(PlaybackError::Kind::kUnknownPort, "MIDI port '" + port_.name + "' went away");
  try {
    out_->openPort(it->index, "out");
  } catch (const RtMidiError& e) {
    throw PlaybackError(PlaybackError::Kind::kNoMidiSystem,
                        "cannot open MIDI port '" + port_.name + "': " + e.getMessage());
  }
  if (!out_->isPortOpen())
    throw PlaybackError(PlaybackError::Kind::kNoMidiSystem, "cannot open MIDI port '" + port_.name + "'");
}

MidiOutput::~MidiOutput() {
  // ALSA's sequencer hands messages over from a queue on its own clock; give the last ones time
  // to leave before the port closes. (JACK's port waits for its queue to empty itself.)
  if (out_) std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

void MidiOutput::send(const uint8_t* bytes, size_t size) {
  if (jack_)
    jack_->send(bytes, size);
  else
    out_->sendMessage(bytes, size);
}

void MidiOutput::silence() {
  for (uint8_t ch = 0; ch < 16; ++ch) {
    const uint8_t all_notes_off[3] = {uint8_t(0xB0 | ch), 123, 0}, all_sound_off[3] = {uint8_t(0xB0 | ch), 120, 0};
    send(all_notes_off, 3);
    send(all_sound_off, 3);
  }
}

}  // namespace legato::render
