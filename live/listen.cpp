#include "live/listen.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "live/send_thread.h"
#include "render/midi_in.h"
#include "render/midi_out.h"

namespace legato::live {

namespace {

class PortSink final : public MidiSink {
 public:
  explicit PortSink(render::MidiOutput& out) : out_(out) {}
  void send(const uint8_t* bytes, size_t size, double) override { out_.send(bytes, size); }

 private:
  render::MidiOutput& out_;
};

const char* mode_name(Mode mode) {
  return mode == Mode::Answer ? "answer" : mode == Mode::Continue ? "continue" : "accompany";
}

}  // namespace

int listen(const model::MusicLSTM& net, const model::CheckpointMeta& meta, const ListenOptions& options,
           const std::atomic<bool>& stop, std::ostream& log) {
  render::MidiOutput output(options.output_port, "composer");
  Session session(net, meta, options.session);
  render::MidiInput input(options.input_port, "composer_listen", [&session](const uint8_t* bytes, size_t size) {
    session.midi_in(bytes, size, steady_seconds());
  });
  const SessionOptions& s = options.session;
  log << "composer: listening on " << input.port().name << ", playing on " << output.port().name << " ("
      << mode_name(s.mode) << ", " << (s.follow_tempo ? "following the tempo from " : "") << s.tempo << " bpm, after "
      << s.answer_after << " beats of silence"
      << (s.mode == Mode::Answer ? ", " + std::to_string(int(s.answer_bars)) + " bars" : "") << "); Ctrl-C ends"
      << std::endl;
  PortSink sink(output);
  auto sender = std::make_unique<SendThread>(session, sink);
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
  sender.reset();
  session.silence(steady_seconds(), sink);  // note-offs for what sounds...
  output.silence();                         // ...and all notes off on every channel, for the synthesizer's sake
  if (!session.failure().empty()) {
    log << "composer: the engine stopped: " << session.failure() << std::endl;
    return 1;
  }
  return 130;
}

}  // namespace legato::live
