#include "live/listen.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "render/midi_in.h"
#include "render/midi_out.h"

namespace legato::live {

namespace {

double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class PortSink final : public MidiSink {
 public:
  explicit PortSink(render::MidiOutput& out) : out_(out) {}
  void send(const uint8_t* bytes, size_t size, double) override { out_.send(bytes, size); }

 private:
  render::MidiOutput& out_;
};

// The sending thread: at real-time priority where the system allows it, as JACK clients run; it
// sleeps until the next note is due, waking at least every half millisecond for new ones.
void send_loop(Session& session, MidiSink& sink, const std::atomic<bool>& done) {
  sched_param priority{};
  priority.sched_priority = std::min(20, sched_get_priority_max(SCHED_FIFO));
  pthread_setschedparam(pthread_self(), SCHED_FIFO, &priority);  // without the right it stays normal
  while (!done.load()) {
    const double now = seconds_now();
    session.tick(now, sink);
    const double until = std::min(session.next_due(), now + 0.0005);
    timespec wake{};
    wake.tv_sec = time_t(until);
    wake.tv_nsec = long((until - double(wake.tv_sec)) * 1e9);
    // steady_clock is CLOCK_MONOTONIC on Linux: the same seconds.
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &wake, nullptr);
  }
}

const char* mode_name(Mode mode) {
  return mode == Mode::Answer ? "answer" : mode == Mode::Continue ? "continue" : "accompany";
}

}  // namespace

int listen(const model::MusicLSTM& net, const model::CheckpointMeta& meta, const ListenOptions& options,
           const std::atomic<bool>& stop, std::ostream& log) {
  render::MidiOutput output(options.output_port, "composer");
  Session session(net, meta, options.session);
  render::MidiInput input(options.input_port, "composer_listen", [&session](const uint8_t* bytes, size_t size) {
    session.midi_in(bytes, size, seconds_now());
  });
  const SessionOptions& s = options.session;
  log << "composer: listening on " << input.port().name << ", playing on " << output.port().name << " ("
      << mode_name(s.mode) << ", " << (s.follow_tempo ? "following the tempo from " : "") << s.tempo << " bpm, after "
      << s.answer_after << " beats of silence"
      << (s.mode == Mode::Answer ? ", " + std::to_string(int(s.answer_bars)) + " bars" : "") << "); Ctrl-C ends"
      << std::endl;
  PortSink sink(output);
  std::atomic<bool> done{false};
  std::thread sender([&] { send_loop(session, sink, done); });
  uint64_t answers = 0;
  while (!stop.load() && session.failure().empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (session.stats().answers.load() != answers && session.stats().last_answer_start.load() > 0) {
      answers = session.stats().answers.load();
      char line[160];
      std::snprintf(line, sizeof line, "composer: answer %llu, its first note %.1f ms after the silence",
                    static_cast<unsigned long long>(answers),
                    (session.stats().last_answer_start.load() - session.stats().last_silence_end.load()) * 1e3);
      log << line << std::endl;
    }
  }
  done = true;
  sender.join();
  session.silence(seconds_now(), sink);  // note-offs for what sounds...
  output.silence();                      // ...and all notes off on every channel, for the synthesizer's sake
  if (!session.failure().empty()) {
    log << "composer: the engine stopped: " << session.failure() << std::endl;
    return 1;
  }
  return 130;
}

}  // namespace legato::live
