// composer --listen for real: a JACK server with the dummy driver, a test client that plays into
// composer's input as a keyboard would (tests/jack_clients.h), and a receiver for the answers.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <thread>

#include "jack_clients.h"
#include "live_checkpoint.h"
#include "temp_dir.h"

using namespace legato;
using testing::Arrival;
using testing::Receiver;
using testing::Sender;
using testing::XrunCounter;
using Clock = std::chrono::steady_clock;
using Bytes = std::vector<uint8_t>;

namespace {

// How soon is checked in the plain build; under AddressSanitizer, several times slower, only what
// arrives and in what order (as tests/test_render_play.cpp does).
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kTimed = false;
#else
constexpr bool kTimed = true;
#endif

double seconds_now() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

void sleep_until_seconds(double at) {
  std::this_thread::sleep_until(
      Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(at))));
}

// composer --listen running on a thread of the test; stop() sends it Ctrl-C.
class Composer {
 public:
  explicit Composer(std::vector<std::string> args) {
    thread_ = std::thread([this, args] { result_ = testing::run_process(args, {}, 120, &pid_); });
  }
  ~Composer() {
    if (thread_.joinable()) stop();
  }
  testing::ProcessResult stop() {
    while (pid_.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ::kill(pid_.load(), SIGINT);
    thread_.join();
    return result_;
  }

 private:
  std::atomic<int> pid_{0};
  testing::ProcessResult result_;
  std::thread thread_;
};

bool wait_connected(const Sender& sender) {
  for (int k = 0; k < 1000 && !sender.connected(); ++k) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return sender.connected();
}

// Sends `events` (seconds from now, bytes) on time, with a MIDI clock byte every 10 ms and active
// sensing every 100 ms in between when `flood`, and goes on flooding until `until` seconds after
// the start. Everything is queued at once and leaves from JACK's real-time thread at its time
// (Sender::send), so a late wake-up of this thread cannot move a note to another grid step and
// change the answer. Returns when the last event is due, on the steady clock, once that has passed.
double play(Sender& sender, std::vector<std::pair<double, Bytes>> events, bool flood = false, double until = 0) {
  const double start = seconds_now() + 0.05;
  double last = start;
  for (const auto& [at, bytes] : events) last = std::max(last, start + at);
  for (int k = 0; flood && k * 0.01 < until; ++k) {
    events.push_back({k * 0.01, {0xF8}});
    if (k % 10 == 9) events.push_back({k * 0.01, {0xFE}});
  }
  std::stable_sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [at, bytes] : events) sender.send(bytes, start + at);
  sleep_until_seconds(start + (events.empty() ? 0 : events.back().first) + 0.01);
  return last;
}

// A phrase at 120 bpm: (pitch, start beat, length in beats).
std::vector<std::pair<double, Bytes>> phrase(const std::vector<std::tuple<int, double, double>>& notes,
                                             double beat_seconds = 0.5) {
  std::vector<std::pair<double, Bytes>> events;
  for (const auto& [pitch, start, length] : notes) {
    events.push_back({start * beat_seconds, {0x90, uint8_t(pitch), 100}});
    events.push_back({(start + length) * beat_seconds, {0x80, uint8_t(pitch), 0}});
  }
  return events;
}

const auto kRising = phrase({{60, 0, 1}, {64, 1, 1}, {67, 2, 0.5}, {72, 2.5, 1.5}});
const auto kFalling = phrase({{72, 0, 0.5}, {67, 0.5, 0.5}, {64, 1, 1}, {48, 2, 2}});
constexpr double kAnswerSeconds = 0.5 + 2.0 + 1.2;  // the silence (1 beat), 1 bar, its last note

struct Heard {
  std::vector<std::pair<int, double>> note_ons;  // pitch, seconds from the first note-on
  double first = 0;                              // when the first note-on arrived
  bool all_released = true;                      // every note-on has its note-off
  std::vector<int> unreleased;                   // channel * 128 + pitch of those that have not
  int all_notes_off = 0;                         // control change 123 messages
};

Heard heard(const std::vector<Arrival>& arrivals) {
  Heard h;
  std::map<int, int> sounding;
  for (const Arrival& a : arrivals) {
    if (a.bytes.size() != 3) continue;
    const int kind = a.bytes[0] & 0xF0, key = (a.bytes[0] & 15) * 128 + a.bytes[1];
    if (kind == 0xB0 && a.bytes[1] == 123) ++h.all_notes_off;
    if (kind == 0x90 && a.bytes[2] > 0) {
      if (h.note_ons.empty()) h.first = a.seconds;
      h.note_ons.push_back({a.bytes[1], a.seconds - h.first});
      ++sounding[key];
    } else if (kind == 0x80 || kind == 0x90) {
      --sounding[key];
    }
  }
  for (const auto& [key, count] : sounding)
    if (count != 0) h.unreleased.push_back(key);
  h.all_released = h.unreleased.empty();
  return h;
}

// What arrived by now; under AddressSanitizer, whose slower answer the timing checks leave alone,
// also what arrives until every note is released (10 s at most), so that an answer still sounding
// is waited for rather than cut off.
std::vector<Arrival> answer_arrivals(Receiver& receiver) {
  std::vector<Arrival> got = receiver.take();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!kTimed && (got.empty() || !heard(got).all_released) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (Arrival& a : receiver.take()) got.push_back(std::move(a));
  }
  return got;
}

// Every note-on of an answer has its note-off. The test server is synchronous (jack_clients.h): a
// late client delays its cycle, and JACK drops a cycle's MIDI only when a client misses it
// altogether. Under AddressSanitizer, whose instrumented receiver and composer run several times
// slower, a missing note-off is accepted only when JACK reported an xrun during the answer (said
// so in the log); without one it fails there too, as always in the plain build.
void check_released(const Heard& h, const XrunCounter::Late& late) {
  if (h.all_released) return;
  std::string keys;
  for (int key : h.unreleased) keys += " " + std::to_string(key / 128) + ":" + std::to_string(key % 128);
  MESSAGE("notes without their note-off (channel:pitch)" << keys << " among " << h.note_ons.size()
                                                         << " note-ons; JACK had " << late.xruns
                                                         << " xruns during the answer");
  if (kTimed || late.xruns == 0) CHECK(h.all_released);
}

std::vector<int> pitches(const Heard& h) {
  std::vector<int> out;
  for (const auto& [pitch, at] : h.note_ons) out.push_back(pitch);
  return out;
}

std::vector<std::string> listen_args(const std::string& checkpoint, const Sender& sender, const Receiver& receiver,
                                     const std::string& seed) {
  return {testing::program("composer"),
          "--checkpoint",
          checkpoint,
          "--listen",
          sender.port(),
          "--play",
          receiver.port(),
          "--tempo",
          "120",
          "--answer-after",
          "1",
          "--answer-bars",
          "1",
          "--seed",
          seed};
}

}  // namespace

TEST_CASE("live: composer --listen answers after the silence; the same seed and phrase, the same answer") {
  if (testing::skip_without_jack()) return;
  const auto dir = testing::temp_dir("live_answer");
  const std::string checkpoint = testing::write_live_checkpoint(dir).string();
  Receiver receiver;
  Sender sender("legato_keys_" + std::to_string(::getpid()));
  std::vector<Heard> answers;
  XrunCounter xruns;
  // Three runs with one seed: two phrases one after the other (it listens again after answering),
  // then each phrase alone.
  const std::vector<std::vector<const std::vector<std::pair<double, Bytes>>*>> runs = {
      {&kRising, &kFalling}, {&kRising}, {&kFalling}};
  for (const auto& run : runs) {
    Composer composer(listen_args(checkpoint, sender, receiver, "3"));
    REQUIRE(wait_connected(sender));
    receiver.take();
    for (const auto* played : run) {
      xruns.take();
      const double last = play(sender, *played);
      std::this_thread::sleep_for(std::chrono::duration<double>(kAnswerSeconds));
      const Heard h = heard(answer_arrivals(receiver));
      REQUIRE(!h.note_ons.empty());
      check_released(h, xruns.take());
      // After the silence (1 beat, 0.5 s, from the last note-off; JACK hands our note-off over up
      // to a period, 2.7 ms, later), and soon after it (how soon: bench/bench_live.cpp).
      CHECK(h.first >= last + 0.5 - 0.003);
      if (kTimed) CHECK(h.first <= last + 0.5 + 0.25);
      for (const auto& [pitch, at] : h.note_ons) CHECK(at < 2.0 + 0.01);  // within its bar
      answers.push_back(h);
    }
    const auto r = composer.stop();
    INFO(r.err);
    CHECK(r.code == 130);
    CHECK(r.err.find("composer: answer 1, its first note") != std::string::npos);
  }
  REQUIRE(answers.size() == 4);
  CHECK(pitches(answers[0]) == pitches(answers[2]));  // the same seed, the same phrase
  for (size_t k = 0; k < std::min(answers[0].note_ons.size(), answers[2].note_ons.size()); ++k)
    if (kTimed)
      CHECK(std::abs(answers[0].note_ons[k].second - answers[2].note_ons[k].second) <
            0.03);                                    // as due, give or take JACK
  CHECK(pitches(answers[0]) != pitches(answers[3]));  // another phrase, another answer
  std::filesystem::remove_all(dir);
}

TEST_CASE("live: bad input never stops composer --listen; its port comes back; Ctrl-C silences every note") {
  if (testing::skip_without_jack()) return;
  const auto dir = testing::temp_dir("live_bad_input");
  const std::string checkpoint = testing::write_live_checkpoint(dir).string();
  Receiver receiver;
  const std::string keys = "legato_keys_" + std::to_string(::getpid());
  auto sender = std::make_unique<Sender>(keys);
  Composer composer(listen_args(checkpoint, *sender, receiver, "4"));
  REQUIRE(wait_connected(*sender));
  receiver.take();
  XrunCounter xruns;
  // Two notes in one event by running status, another channel, SysEx, a note-off of no note,
  // drums, a stray data byte, note-offs by running status and by velocity 0; MIDI clock and
  // active sensing all the while, through the silence and the answer.
  const std::vector<std::pair<double, Bytes>> messy = {{0.0, {0x90, 60, 100, 64, 100}},
                                                       {0.0, {0x91, 48, 90}},
                                                       {0.1, {0xF0, 0x7E, 0x7F, 0x09, 0x01, 0xF7}},
                                                       {0.2, {0x82, 70, 0}},
                                                       {0.25, {0x99, 36, 100}},
                                                       {0.3, {0x89, 36, 0}},
                                                       {0.4, {0x42}},
                                                       {0.5, {0x80, 60, 0, 64, 0}},
                                                       {0.5, {0x91, 48, 0}},
                                                       {0.75, {0x90, 67, 100}},
                                                       {1.0, {0x80, 67, 64}}};
  play(*sender, messy, true, 1.0 + kAnswerSeconds);
  const Heard first = heard(answer_arrivals(receiver));
  CHECK(!first.note_ons.empty());
  check_released(first, xruns.take());

  // The keyboard goes away and comes back: composer connects to it again.
  sender.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  sender = std::make_unique<Sender>(keys);
  REQUIRE(wait_connected(*sender));
  const double last = play(*sender, kRising);
  // Ctrl-C a moment into the answer: what sounds stops, and every channel hears all notes off.
  sleep_until_seconds(last + 0.5 + 0.4);
  const auto r = composer.stop();
  INFO(r.err);
  CHECK(r.code == 130);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const Heard second = heard(receiver.take());
  CHECK(!second.note_ons.empty());
  CHECK(second.all_released);
  CHECK(second.all_notes_off == 16);
  CHECK(r.err.find("composer: answer 2") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("live: composer --listen refuses a port it cannot find and a checkpoint without time") {
  if (testing::skip_without_jack()) return;
  const auto dir = testing::temp_dir("live_errors");
  const std::string checkpoint = testing::write_live_checkpoint(dir).string();
  model::CheckpointMeta seed_meta = testing::live_meta();
  seed_meta.scheme = "seed";
  model::save_checkpoint(dir / "seed.safetensors", model::MusicLSTM(seed_meta.config), seed_meta);
  Receiver receiver;
  Sender sender("legato_keys_" + std::to_string(::getpid()));

  // miditool ports lists the inputs too, after the outputs.
  const auto ports = testing::run_process({testing::program("miditool"), "ports"});
  CHECK(ports.code == 0);
  const size_t inputs = ports.out.find("inputs:\n");
  REQUIRE(inputs != std::string::npos);
  CHECK(ports.out.find(sender.port(), inputs) != std::string::npos);
  CHECK(ports.out.find(receiver.port()) < inputs);

  const std::string composer = testing::program("composer");
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{composer, "--checkpoint", checkpoint, "--listen", "no-such-port", "--play", receiver.port()},
       "no MIDI input port 'no-such-port'"},
      {{composer, "--checkpoint", (dir / "seed.safetensors").string(), "--listen", sender.port(), "--play",
        receiver.port()},
       "needs a checkpoint of the event scheme"},
      {{composer, "--checkpoint", checkpoint, "--mode", "answer"}, "--mode requires --listen"},
      {{composer, "--checkpoint", checkpoint, "--listen", sender.port(), "--mode", "sing"}, "--mode"},
      {{composer, "--checkpoint", checkpoint, "--listen", sender.port(), "--answer-after", "0"}, "--answer-after"}};
  for (const auto& [args, said] : bad) {
    const auto r = testing::run_process(args);
    CAPTURE(r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find(said) != std::string::npos);
    // One line, but for the ports there are, listed after it as --play lists them.
    if (said.find("port") == std::string::npos) CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.rfind("composer: ", 0) == 0);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("live: composer --listen --follow-tempo takes the tempo the player plays at") {
  if (testing::skip_without_jack()) return;
  const auto dir = testing::temp_dir("live_follow");
  const std::string checkpoint = testing::write_live_checkpoint(dir).string();
  Receiver receiver;
  Sender sender("legato_keys_" + std::to_string(::getpid()));
  std::vector<std::string> args = listen_args(checkpoint, sender, receiver, "5");
  args.push_back("--follow-tempo");  // from --tempo 120; the player plays at 90
  Composer composer(args);
  REQUIRE(wait_connected(sender));
  receiver.take();
  XrunCounter xruns;
  constexpr double beat = 60.0 / 90;
  const double last = play(sender, phrase({{60, 0, 1}, {62, 1, 1}, {64, 2, 1}, {65, 3, 1}, {67, 4, 1}}, beat));
  std::this_thread::sleep_for(std::chrono::duration<double>(beat + 4 * beat + 1.5));
  const Heard h = heard(answer_arrivals(receiver));
  REQUIRE(!h.note_ons.empty());
  check_released(h, xruns.take());
  // The silence is one beat at 90 bpm (0.67 s), not at 120 (0.5 s)...
  CHECK(h.first >= last + beat - 0.003);
  if (kTimed) CHECK(h.first <= last + beat + 0.25);
  // ...and the answer's bar lasts 4 beats at 90 bpm (2.67 s).
  for (const auto& [pitch, at] : h.note_ons) CHECK(at < 4 * beat + 0.01);
  const auto r = composer.stop();
  INFO(r.err);
  CHECK(r.code == 130);
  CHECK(r.err.find("following the tempo from 120 bpm") != std::string::npos);
  std::filesystem::remove_all(dir);
}
