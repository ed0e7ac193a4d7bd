#pragma once
// Real JACK for the tests that play and listen: one server with the dummy driver for the whole
// run, a receiving client that notes when each message arrives, and a sending client that plays
// raw MIDI bytes into a port, as a keyboard would. Skipped, visibly, only where JACK cannot start.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <jack/jack.h>
#include <jack/midiport.h>
#include <jack/ringbuffer.h>
#include <jack/statistics.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "test_render_process.h"

namespace legato::testing {

using Clock = std::chrono::steady_clock;

// One JACK server for the whole run (`jackd -n NAME -d dummy`), ended when the tests end.
class JackServer {
 public:
  static JackServer& get() {
    static JackServer server;
    return server;
  }
  bool running() const { return problem_.empty(); }
  const std::string& problem() const { return problem_; }
  const std::string& name() const { return name_; }

  ~JackServer() {
    if (pid_ > 0) end_process(pid_);
    std::filesystem::remove(log_);
  }

 private:
  JackServer() : name_("legato_test_" + std::to_string(::getpid())) {
    log_ = std::filesystem::temp_directory_path() / (name_ + ".log");
    // Our clients (and the programs we start) talk to this server and never start one themselves.
    ::setenv("JACK_DEFAULT_SERVER", name_.c_str(), 1);
    ::setenv("JACK_NO_START_SERVER", "1", 1);
    // A 128-frame period at 48 kHz: JACK hands MIDI over every 2.7 ms. Synchronous (-S): each
    // cycle waits for every client to finish. In JACK2's default asynchronous mode a client that
    // has not finished its cycle in time misses that cycle's MIDI (an xrun a few microseconds
    // late, several times a second on this 2-core machine), which dropped a note-off of a
    // composer answer once in CI; in synchronous mode a slow cycle only runs late, and the timing
    // checks see it.
    std::vector<std::string> argv = {"jackd", "-n", name_, "-S", "-d", "dummy", "-r", "48000", "-p", "128"};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int spawned = posix_spawnp(&pid_, "jackd", &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
      pid_ = 0;
      problem_ = "cannot run jackd (install jackd2)";
      return;
    }
    // libjack says "cannot connect" on stderr for every probe before the server is up.
    jack_set_error_function([](const char*) {});
    jack_set_info_function([](const char*) {});
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        problem_ = "jackd exited at once: " + slurp(log_);
        return;
      }
      jack_status_t jack_status{};
      if (jack_client_t* probe = jack_client_open("legato_probe", JackNoStartServer, &jack_status)) {
        jack_client_close(probe);
        return;  // the server answers
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    problem_ = "jackd did not answer within 10 s: " + slurp(log_);
  }

  std::string name_, problem_;
  std::filesystem::path log_;
  pid_t pid_ = 0;
};

// The xruns JACK reports, from any client of the server (cycles of the graph that ran late or did
// not finish, the receiving test client's included: MIDI then comes late or not at all whatever the
// player did), and the longest delay JACK measured on them.
class XrunCounter {
 public:
  XrunCounter() {
    client_ = jack_client_open(("legato_xruns_" + std::to_string(::getpid())).c_str(), JackNoStartServer, nullptr);
    if (!client_) return;
    jack_set_xrun_callback(
        client_,
        [](void* arg) {
          auto* self = static_cast<XrunCounter*>(arg);
          self->xruns_.fetch_add(1);
          const int delayed = int(jack_get_xrun_delayed_usecs(self->client_));
          int longest = self->longest_us_.load();
          while (delayed > longest && !self->longest_us_.compare_exchange_weak(longest, delayed)) {
          }
          return 0;
        },
        this);
    // Each cycle's start as JACK reckons it against the moment this client runs in it: a cycle the
    // system woke late delivers its MIDI late (the receiver notes the time in its own callback of
    // that cycle) even when JACK counts no xrun.
    jack_set_process_callback(
        client_,
        [](jack_nframes_t, void* arg) {
          auto* self = static_cast<XrunCounter*>(arg);
          jack_nframes_t frames = 0;
          jack_time_t start = 0, next = 0;
          float period = 0;
          if (jack_get_cycle_times(self->client_, &frames, &start, &next, &period) == 0) {
            const jack_time_t now = jack_get_time();
            const int late = now > start ? int(std::min<jack_time_t>(now - start, 1000000)) : 0;
            int latest = self->latest_cycle_us_.load();
            while (late > latest && !self->latest_cycle_us_.compare_exchange_weak(latest, late)) {
            }
          }
          return 0;
        },
        this);
    jack_activate(client_);
  }
  ~XrunCounter() {
    if (client_) jack_client_close(client_);
  }
  XrunCounter(const XrunCounter&) = delete;
  XrunCounter& operator=(const XrunCounter&) = delete;

  struct Late {
    int xruns;
    double longest_seconds;       // the longest delay JACK measured on an xrun
    double latest_cycle_seconds;  // the latest a cycle ran after its start
  };
  // Since the last call.
  Late take() { return {xruns_.exchange(0), longest_us_.exchange(0) * 1e-6, latest_cycle_us_.exchange(0) * 1e-6}; }

 private:
  jack_client_t* client_ = nullptr;
  std::atomic<int> xruns_{0};
  std::atomic<int> longest_us_{0};
  std::atomic<int> latest_cycle_us_{0};
};

struct Arrival {
  double seconds;  // on the steady clock
  std::vector<unsigned char> bytes;
};

// A JACK MIDI input port that notes when each message arrives (in JACK's real-time thread, in
// the cycle that delivers it). A client of our own rather than rtmidi's: rtmidi registers its port
// after activating its client and unregisters it while still active, and libjack's notification
// thread walks the client's port list unlocked whenever the server recomputes latencies (any
// client connecting or leaving), so a port registered or removed at that moment crashed the test
// process (SIGSEGV in libjack's latency handler, once in CI under ASan). Here the port exists
// before the client is active and the client is deactivated before it closes, as a Sender's.
// SysEx, MIDI time code, clock and active sensing are left out (as rtmidi's ignoreTypes did).
class Receiver {
 public:
  Receiver() : client_name_("legato_receiver_" + std::to_string(::getpid())) {
    client_ = jack_client_open(client_name_.c_str(), JackNoStartServer, nullptr);
    REQUIRE(client_ != nullptr);
    port_ = jack_port_register(client_, "in", JACK_DEFAULT_MIDI_TYPE, JackPortIsInput, 0);
    REQUIRE(port_ != nullptr);
    jack_set_process_callback(client_, process, this);
    REQUIRE(jack_activate(client_) == 0);
  }
  ~Receiver() {
    jack_deactivate(client_);
    jack_client_close(client_);
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  std::string port() const { return client_name_ + ":in"; }
  std::vector<Arrival> take() {
    std::lock_guard lock(mutex_);
    return std::exchange(arrivals_, {});
  }

 private:
  static bool ignored(unsigned char status) {
    return status == 0xF0 || status == 0xF1 || status == 0xF8 || status == 0xFE;
  }

  static int process(jack_nframes_t frames, void* arg) {
    auto* self = static_cast<Receiver*>(arg);
    void* buffer = jack_port_get_buffer(self->port_, frames);
    const double now = std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
    const jack_nframes_t count = jack_midi_get_event_count(buffer);
    for (jack_nframes_t k = 0; k < count; ++k) {
      jack_midi_event_t event;
      if (jack_midi_event_get(&event, buffer, k) != 0 || event.size == 0 || ignored(event.buffer[0])) continue;
      std::lock_guard lock(self->mutex_);
      self->arrivals_.push_back({now, std::vector<unsigned char>(event.buffer, event.buffer + event.size)});
    }
    return 0;
  }

  std::string client_name_;
  jack_client_t* client_ = nullptr;
  jack_port_t* port_ = nullptr;
  std::mutex mutex_;
  std::vector<Arrival> arrivals_;
};

// A JACK client with a MIDI output port that sends raw bytes, each send() one JACK event of
// exactly those bytes (running status and SysEx as a keyboard would send them).
class Sender {
 public:
  explicit Sender(const std::string& client) {
    client_ = jack_client_open(client.c_str(), JackNoStartServer, nullptr);
    REQUIRE(client_ != nullptr);
    ring_ = jack_ringbuffer_create(1 << 16);
    port_ = jack_port_register(client_, "out", JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput, 0);
    REQUIRE(port_ != nullptr);
    jack_set_process_callback(client_, process, this);
    REQUIRE(jack_activate(client_) == 0);
    name_ = jack_port_name(port_);
  }
  ~Sender() {
    // What was queued leaves in the next cycles before the client closes.
    for (int k = 0; k < 200 && jack_ringbuffer_read_space(ring_) > 0; ++k)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    jack_deactivate(client_);
    jack_client_close(client_);
    jack_ringbuffer_free(ring_);
  }
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  const std::string& port() const { return name_; }
  bool connected() const { return jack_port_connected(port_) > 0; }
  // Sends `bytes` in the first JACK cycle at or after `at` (seconds on the steady clock; 0: the
  // next cycle). Queued ahead, a phrase leaves on time from JACK's real-time thread however late
  // the test's own thread wakes on a loaded machine. Call in order of `at`.
  void send(std::vector<uint8_t> bytes, double at = 0) {
    const Header header{at, uint32_t(bytes.size())};
    REQUIRE(jack_ringbuffer_write_space(ring_) >= sizeof header + header.size);
    jack_ringbuffer_write(ring_, reinterpret_cast<const char*>(&header), sizeof header);
    jack_ringbuffer_write(ring_, reinterpret_cast<const char*>(bytes.data()), header.size);
  }

 private:
  struct Header {
    double at;  // steady seconds
    uint32_t size;
  };

  static int process(jack_nframes_t frames, void* arg) {
    auto* self = static_cast<Sender*>(arg);
    void* buffer = jack_port_get_buffer(self->port_, frames);
    jack_midi_clear_buffer(buffer);
    const double now = std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
    Header h{};
    while (jack_ringbuffer_peek(self->ring_, reinterpret_cast<char*>(&h), sizeof h) == sizeof h &&
           jack_ringbuffer_read_space(self->ring_) >= sizeof h + h.size && h.at <= now) {
      jack_ringbuffer_read_advance(self->ring_, sizeof h);
      if (jack_midi_data_t* event = jack_midi_event_reserve(buffer, 0, h.size))
        jack_ringbuffer_read(self->ring_, reinterpret_cast<char*>(event), h.size);
      else
        jack_ringbuffer_read_advance(self->ring_, h.size);
    }
    return 0;
  }

  jack_client_t* client_ = nullptr;
  jack_port_t* port_ = nullptr;
  jack_ringbuffer_t* ring_ = nullptr;
  std::string name_;
};

inline bool skip_without_jack() {
  if (JackServer::get().running()) return false;
  MESSAGE("SKIPPED: JACK cannot start here: " << JackServer::get().problem());
  return true;
}

}  // namespace legato::testing
