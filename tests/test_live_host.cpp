// A Session as a host runs it (the LV2 plugin): no thread of its own but step() after each tick,
// in simulated time, so that everything is deterministic; the host's tempo and beat grid, and
// cut() when its transport stops.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <tuple>
#include <vector>

#include "live/session.h"
#include "live_checkpoint.h"

using namespace legato;

namespace {

struct Sent {
  double due;
  std::vector<uint8_t> bytes;
  bool operator==(const Sent&) const = default;
};

struct Recorder final : live::MidiSink {
  std::vector<Sent> sent;
  void send(const uint8_t* bytes, size_t size, double due) override { sent.push_back({due, {bytes, bytes + size}}); }
};

// (pitch, start, length) in seconds.
using Notes = std::vector<std::tuple<int, double, double>>;

// Plays `notes` into a stepped session and runs it for `seconds` in 5 ms ticks (a host's blocks),
// the engine stepped after each; `hook(now, session)` runs before each tick.
std::vector<Sent> run_stepped(live::SessionOptions options, const Notes& notes, double seconds,
                              const std::function<void(double, live::Session&)>& hook = {}) {
  const model::CheckpointMeta meta = testing::live_meta();
  const model::MusicLSTM net(meta.config);
  options.own_thread = false;
  live::Session session(net, meta, options);
  std::vector<std::pair<double, std::vector<uint8_t>>> input;
  for (const auto& [pitch, start, length] : notes) {
    input.push_back({start, {0x90, uint8_t(pitch), 100}});
    input.push_back({start + length, {0x80, uint8_t(pitch), 0}});
  }
  std::stable_sort(input.begin(), input.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  Recorder out;
  size_t next = 0;
  for (double now = 0; now < seconds; now += 0.005) {
    for (; next < input.size() && input[next].first <= now; ++next)
      session.midi_in(input[next].second.data(), 3, input[next].first);
    if (hook) hook(now, session);
    session.tick(now, out);
    while (session.step()) {
    }
  }
  CHECK(session.failure().empty());
  return out.sent;
}

std::vector<double> note_on_times(const std::vector<Sent>& sent) {
  std::vector<double> times;
  for (const Sent& s : sent)
    if ((s.bytes[0] & 0xF0) == 0x90 && s.bytes[2] > 0) times.push_back(s.due);
  return times;
}

const Notes kPhrase = {{60, 0.0, 0.5}, {64, 0.5, 0.5}, {67, 1.0, 0.25}, {72, 1.25, 0.75}};  // ends at 2 s

}  // namespace

TEST_CASE("live host: stepped, the host's tempo and beats set the answer's grid, and it repeats exactly") {
  live::SessionOptions options;  // 120 bpm, until the host says 100
  options.answer_bars = 1;
  const double origin = 0.0123, step = 0.6 / 12;  // the host's beat 0, and a twelfth of its beat
  const auto host = [&](double, live::Session& s) {
    s.set_tempo(100);
    s.set_beat_origin(origin);
  };
  const std::vector<Sent> sent = run_stepped(options, kPhrase, 8, host);
  const std::vector<double> answer = note_on_times(sent);  // the session sends only its own notes
  REQUIRE(answer.size() > 1);
  // Two beats of silence at 100 bpm from the last note-off at 2 s.
  CHECK(answer.front() >= 2 + 2 * 0.6);
  for (const double at : answer) {
    const double steps = (at - origin) / step;
    CHECK(std::abs(steps - std::round(steps)) < 1e-6);
  }
  CHECK(run_stepped(options, kPhrase, 8, host) == sent);  // no thread, no clock: the same every time
}

TEST_CASE("live host: cut() stops the answer at once, every note ended, and the session listens again") {
  // Accompany too: its part never stops for the player, and would stay silent after a cut that
  // the engine did not hear of.
  for (const live::Mode mode : {live::Mode::Continue, live::Mode::Accompany}) {
    CAPTURE(int(mode));
    live::SessionOptions options;
    options.mode = mode;
    const double cut_at = 5;
    double cut_time = -1;  // the tick's own time, which the cut's note-offs are due at
    Notes notes = kPhrase;
    notes.push_back({62, 8.0, 0.5});  // a second phrase after the cut
    const std::vector<Sent> sent = run_stepped(options, notes, 12, [&](double now, live::Session& s) {
      if (std::abs(now - cut_at) < 0.0025) s.cut(), cut_time = now;
    });
    int sounding[16 * 128] = {};
    int answers_before = 0, after_cut = 0, after_second = 0;
    for (const Sent& s : sent) {
      const bool on = (s.bytes[0] & 0xF0) == 0x90 && s.bytes[2] > 0;
      if (s.due <= cut_time) sounding[(s.bytes[0] & 15) * 128 + s.bytes[1]] += on ? 1 : -1;
      if (on && s.due > 3 && s.due < cut_at) ++answers_before;
      if (on && s.due > cut_time && s.due < 8) ++after_cut;
      if (on && s.due > 8.5 + 1) ++after_second;
    }
    CHECK(answers_before > 0);                                                   // it was playing...
    CHECK(std::count(std::begin(sounding), std::end(sounding), 0) == 16 * 128);  // ...every note ended by the cut
    CHECK(after_cut == 0);                                                       // nothing more until the player
    CHECK(after_second > 0);                                                     // the player's next phrase is answered
  }
}
