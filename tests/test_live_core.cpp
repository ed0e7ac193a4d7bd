// The live engine's parts without a MIDI system (live/): the parser of what a keyboard sends, the
// tokens of what is played, the timed output queue, and a whole session on the steady clock,
// whose real-time side must not allocate.
#include <doctest/doctest.h>

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <new>
#include <thread>

#include "live/midi_parser.h"
#include "live/output_queue.h"
#include "live/phrase_tokenizer.h"
#include "live/session.h"
#include "live_checkpoint.h"

using namespace legato;

// Allocations made on a thread while it counts: the real-time side's calls are counted.
namespace {
thread_local bool t_counting = false;
thread_local long t_allocations = 0;
}  // namespace

// GCC cannot see that these replace every form of new: it takes free() here for a mismatch.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  if (t_counting) ++t_allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
// The nothrow forms too (std::stable_sort's buffer): left to the runtime, they would allocate with
// its new what the sized delete below frees with free() (AddressSanitizer: alloc-dealloc-mismatch).
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  if (t_counting) ++t_allocations;
  return std::malloc(size ? size : 1);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept { return operator new(size, tag); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace {

// How soon is checked in the plain build; under AddressSanitizer, several times slower, only what
// is sent and in what order (as tests/test_render_play.cpp does).
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kTimed = false;
#else
constexpr bool kTimed = true;
#endif

using Bytes = std::vector<uint8_t>;

std::vector<Bytes> parse_all(live::MidiParser& parser, const Bytes& bytes) {
  std::vector<Bytes> out;
  parser.parse(bytes.data(), bytes.size(), [&](const live::ChannelMessage& m) {
    out.push_back({m.status, m.data1, m.data2});
  });
  return out;
}

std::string text(const std::vector<std::string>& names, const std::vector<int32_t>& ids) {
  std::string out;
  for (int32_t id : ids) {
    if (!out.empty()) out += ' ';  // appended in two steps: GCC 12 warns falsely about "a" + b here
    out += names[static_cast<size_t>(id)];
  }
  return out;
}

// Records what the queue sends, with no allocation while it has room.
struct Recorder final : live::MidiSink {
  struct Sent {
    double due, at;
    uint8_t bytes[3];
  };
  Recorder() { sent.reserve(100000); }
  void send(const uint8_t* bytes, size_t size, double due) override {
    if (size != 3 || sent.size() == sent.capacity()) return;  // never here: checked by the counts
    sent.push_back({due, now, {bytes[0], bytes[1], bytes[2]}});
  }
  std::vector<Sent> sent;
  double now = 0;
};

live::TimedNote timed(double seconds, uint32_t answer, uint8_t status, uint8_t pitch) {
  return {seconds, answer, {status, pitch, uint8_t(status == 0x90 ? 100 : 0)}};
}

}  // namespace

TEST_CASE("live: the MIDI parser takes running status, real-time bytes, SysEx over two packets and stray data") {
  live::MidiParser parser;
  // A stray data byte, a note-on, a second by running status with a clock byte inside it, SysEx begun...
  const auto first = parse_all(parser, {0x45, 0x90, 60, 100, 62, 0xF8, 90, 0xF0, 1, 2, 3});
  CHECK(first == std::vector<Bytes>{{0x90, 60, 100}, {0x90, 62, 90}});
  // ...and ended; data with no status after it, note-offs by running status around active
  // sensing, a program change (one data byte) and a control change.
  const auto second = parse_all(parser, {4, 0xF7, 64, 0, 0x80, 60, 0, 0xFE, 62, 0, 0xC0, 5, 0xB0, 123, 0});
  CHECK(second == std::vector<Bytes>{{0x80, 60, 0}, {0x80, 62, 0}, {0xC0, 5, 0}, {0xB0, 123, 0}});
  const live::ChannelMessage zero_velocity{0x93, 60, 0};
  CHECK(zero_velocity.is_note_off());
  CHECK(!zero_velocity.is_note_on());
  CHECK(zero_velocity.channel() == 3);
}

TEST_CASE("live: played notes become tokens once they and the notes before them have ended") {
  const model::CheckpointMeta meta = testing::live_meta();
  const live::EventVocab vocab(meta.vocab);
  live::PhraseTokenizer tok(vocab, 0.5, false);  // 120 bpm: a grid step (a twelfth of a beat) is 41.7 ms
  std::vector<int32_t> out;
  tok.note_on(0, 60, 100, 10.0);
  tok.note_on(0, 64, 100, 10.004);  // a chord: the same grid step
  tok.note_on(0, 67, 100, 10.5);
  tok.note_off(0, 64, 10.25);
  tok.note_off(0, 50, 10.3);  // a note-off without its note-on: ignored
  tok.take_tokens(out);
  CHECK(out.empty());  // C4 is held: the chord waits for it
  tok.note_off(0, 60, 10.5);
  tok.take_tokens(out);
  CHECK(text(meta.vocab, out) == "P0 N60 D12 N64 D6");
  CHECK(tok.holding());
  out.clear();
  tok.note_off(0, 67, 11.5);  // two beats: longer than the longest duration token (24 steps is D24)
  tok.note_on(9, 36, 100, 11.5);
  tok.note_on(0, 100, 100, 11.5);  // a pitch the network never saw: left out
  tok.release_all(11.6);
  tok.take_tokens(out);
  tok.rest_until(13.1, out);
  CHECK(text(meta.vocab, out) == "T12 N67 D24 T12 T12 DRUMS N36 D2 T12 T12 T12 T2");
  CHECK(!tok.holding());

  live::PhraseTokenizer follower(vocab, 0.5, true);
  for (int k = 0; k < 6; ++k) follower.note_on(0, 60, 100, 1.0 + 0.4 * k);  // 150 bpm
  CHECK(follower.beat_seconds() == doctest::Approx(0.4));
}

TEST_CASE("live: the output queue sends in time order, and a cut silences only what sounds") {
  live::OutputQueue queue;
  Recorder out;
  for (const auto& n : {timed(1.0, 1, 0x90, 60), timed(2.0, 1, 0x80, 60), timed(1.5, 1, 0x90, 62),
                        timed(3.0, 1, 0x80, 62), timed(2.5, 1, 0x90, 64), timed(2.6, 1, 0x80, 64)})
    REQUIRE(queue.schedule(n));
  queue.tick(1.6, out);
  REQUIRE(out.sent.size() == 2);
  CHECK(out.sent[0].bytes[1] == 60);
  CHECK(out.sent[1].bytes[1] == 62);
  CHECK(queue.next_due() == 2.0);
  queue.cut(1);
  queue.tick(1.7, out);  // note-offs for the two sounding notes, nothing of what was to come
  REQUIRE(out.sent.size() == 4);
  CHECK((out.sent[2].bytes[0] == 0x80 && out.sent[3].bytes[0] == 0x80));
  CHECK(out.sent[2].bytes[1] + out.sent[3].bytes[1] == 60 + 62);
  queue.tick(5, out);
  CHECK(out.sent.size() == 4);
  // A repeated note: at one instant the note-off goes before the note-on.
  for (const auto& n :
       {timed(7.0, 2, 0x90, 70), timed(8.0, 2, 0x80, 70), timed(6.0, 2, 0x90, 70), timed(7.0, 2, 0x80, 70)})
    REQUIRE(queue.schedule(n));
  queue.tick(7.5, out);
  REQUIRE(out.sent.size() == 7);
  CHECK((out.sent[4].bytes[0] == 0x90 && out.sent[5].bytes[0] == 0x80 && out.sent[6].bytes[0] == 0x90));
  queue.silence(7.6, out);  // Ctrl-C: the one sounding note stops
  REQUIRE(out.sent.size() == 8);
  CHECK((out.sent[7].bytes[0] == 0x80 && out.sent[7].bytes[1] == 70));
}

namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct PlayedNote {
  int pitch;
  double start, length;  // beats
};

// A session on the steady clock: a real-time thread ticks it every half millisecond (counting its
// allocations), the test plays `phrase` into it at 240 bpm and records the answer (1 bar).
struct Answer {
  std::vector<Recorder::Sent> sent;
  double silence_end = 0;  // when the phrase's silence (1 beat after its last note-off) ended
  long allocations = 0;    // on the real-time side
  double start = 0;        // when the phrase began
};

// `tail`: seconds to listen after the last event played.
Answer answer_to(const std::vector<PlayedNote>& phrase, uint64_t seed, live::Mode mode = live::Mode::Answer,
                 double tail = 0.25 + 1.0 + 0.8) {
  const model::CheckpointMeta meta = testing::live_meta();
  const model::MusicLSTM net(meta.config);
  live::SessionOptions options;
  options.tempo = 240;
  options.answer_after = 1;
  options.answer_bars = 1;
  options.seed = seed;
  options.mode = mode;
  live::Session session(net, meta, options);
  Recorder out;
  std::atomic<bool> done{false};
  long rt_allocations = 0;
  std::thread ticker([&] {
    sched_param priority{};  // as live/send_thread.cpp: a busy machine then cannot make it late
    priority.sched_priority = std::min(20, sched_get_priority_max(SCHED_FIFO));
    pthread_setschedparam(pthread_self(), SCHED_FIFO, &priority);
    t_counting = true;
    while (!done) {
      out.now = steady_seconds();
      session.tick(out.now, out);
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    t_counting = false;
    rt_allocations = t_allocations;
  });
  const double beat = 0.25, start = steady_seconds() + 0.05;
  std::vector<std::pair<double, Bytes>> events;
  for (const PlayedNote& n : phrase) {
    events.push_back({start + n.start * beat, {0x90, uint8_t(n.pitch), 100}});
    events.push_back({start + (n.start + n.length) * beat, {0x80, uint8_t(n.pitch), 0}});
  }
  std::stable_sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  long input_allocations = 0;
  for (const auto& [at, bytes] : events) {
    std::this_thread::sleep_until(std::chrono::steady_clock::time_point(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(at))));
    t_counting = true;
    // At the time it was due, not when this thread woke: on a loaded machine a late wake-up would
    // move the note to another grid step, and the answer with it.
    session.midi_in(bytes.data(), bytes.size(), at);
    t_counting = false;
    input_allocations = t_allocations;
  }
  t_allocations = 0;
  const double silence_end = events.back().first + beat;
  std::this_thread::sleep_for(std::chrono::duration<double>(tail));
  done = true;
  ticker.join();
  CHECK(session.failure().empty());
  return {out.sent, silence_end, rt_allocations + input_allocations, start};
}

std::vector<std::pair<int, double>> note_ons(const Answer& a) {  // pitch, due time from the first
  std::vector<std::pair<int, double>> ons;
  for (const auto& s : a.sent)
    if (s.bytes[0] == 0x90) ons.push_back({s.bytes[1], s.due - a.sent.front().due});
  return ons;
}

}  // namespace

TEST_CASE("live: a session answers after the silence, the same phrase the same way, without allocating in real time") {
  const std::vector<PlayedNote> rising = {{60, 0, 1}, {64, 1, 1}, {67, 2, 0.5}, {72, 2.5, 1.5}};
  const std::vector<PlayedNote> falling = {{72, 0, 0.5}, {67, 0.5, 0.5}, {64, 1, 1}, {48, 2, 2}};
  // The silence, the answer and its last note (at most 24 steps, half a second).
  const Answer first = answer_to(rising, 11), again = answer_to(rising, 11), other = answer_to(falling, 11);
  for (const Answer* a : {&first, &again, &other}) {
    REQUIRE(!note_ons(*a).empty());
    CHECK(a->allocations == 0);
    // It starts after the silence, and soon (bench/bench_live.cpp measures how soon; the test
    // below, on a clock of its own, that it is due exactly then).
    CHECK(a->sent.front().due >= a->silence_end);
    if (kTimed) CHECK(a->sent.front().due <= a->silence_end + 0.1);
    // Every note-on has its note-off, and nothing sounds beyond the bar (1 s).
    int sounding[16 * 128] = {};
    for (const auto& s : a->sent) {
      sounding[(s.bytes[0] & 15) * 128 + s.bytes[1]] += s.bytes[0] >= 0x90 ? 1 : -1;
      if (kTimed) CHECK(s.at - s.due < 0.05);  // sent on time (the timing itself is measured by bench/bench_live)
      // A note held past the bar is released at its end (a longest duration repeated would hold it on).
      if (s.bytes[0] < 0x90) CHECK(s.due - a->sent.front().due <= 1.0 + 1e-9);
    }
    CHECK(std::count(std::begin(sounding), std::end(sounding), 0) == 16 * 128);
    for (const auto& [pitch, at] : note_ons(*a)) CHECK(at < 1.0);
  }
  CHECK(note_ons(first) == note_ons(again));
  CHECK(note_ons(first) != note_ons(other));
}

TEST_CASE("live: continue goes on past the answer's length until the player plays; accompany keeps below the player") {
  const double beat = 0.25;  // 240 bpm; the phrase ends at beat 4 and the silence at beat 5
  // Continue: the player comes back at beat 16 for one beat; Legato had gone on for 11 beats.
  const Answer going_on = answer_to({{60, 0, 1}, {64, 1, 1}, {67, 2, 2}, {50, 16, 1}}, 5, live::Mode::Continue, 0.2);
  const double back = going_on.start + 16 * beat;
  int past_a_bar = 0, after_back = 0, sounding = 0;
  for (const auto& s : going_on.sent) {
    if (s.bytes[0] == 0x90) {
      past_a_bar += s.due > going_on.start + 5 * beat + 4 * beat + 0.1;  // answer_bars is 1
      after_back += s.at > back + 0.005;
    }
    sounding += s.bytes[0] == 0x90 ? 1 : -1;
  }
  CHECK(past_a_bar > 0);
  CHECK(after_back == 0);  // it stopped when the player played again...
  CHECK(sounding == 0);    // ...with a note-off for every note

  // Accompany: the player holds E4 from beat 8 to beat 16; from a beat after it began (what was
  // written before it stands) the part stays below it, and it goes on through the player's note.
  const Answer under = answer_to({{60, 0, 1}, {64, 1, 1}, {67, 2, 2}, {64, 8, 8}}, 5, live::Mode::Accompany, 0.5);
  int below = 0, during = 0;
  for (const auto& s : under.sent)
    if (s.bytes[0] == 0x90 && s.due > under.start + 9 * beat + 0.05 && s.due < under.start + 16 * beat) {
      ++during;
      below += s.bytes[1] < 64;
    }
  CHECK(during > 0);
  CHECK(below == during);
}

namespace {

// A session without a thread of its own, on a clock the test keeps: each event is handed over at
// its time, and between events the session is ticked and stepped every millisecond, as the
// sending thread and the engine's would. Nothing depends on how busy the machine is.
struct VirtualClock {
  explicit VirtualClock(uint64_t seed, live::Mode mode = live::Mode::Answer,
                        double grid_strength = model::kDefaultGridStrength)
      : meta(testing::live_meta()), net(meta.config) {
    live::SessionOptions options;
    options.tempo = 240;
    options.answer_after = 1;
    options.answer_bars = 1;
    options.seed = seed;
    options.mode = mode;
    options.grid_strength = grid_strength;
    options.own_thread = false;
    session = std::make_unique<live::Session>(net, meta, options);
  }
  void run_until(double t) {
    for (; now < t; now += 0.001) tick();
  }
  void tick() {
    out.now = now;
    session->tick(now, out);
    while (session->step()) {
    }
  }
  void play(const std::vector<PlayedNote>& notes, double start) {  // each note-on and note-off at its time
    std::vector<std::pair<double, Bytes>> events;
    for (const PlayedNote& n : notes) {
      events.push_back({start + n.start * 0.25, {0x90, uint8_t(n.pitch), 100}});
      events.push_back({start + (n.start + n.length) * 0.25, {0x80, uint8_t(n.pitch), 0}});
    }
    std::stable_sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [at, bytes] : events) {
      run_until(at);
      session->midi_in(bytes.data(), bytes.size(), at);
    }
  }
  model::CheckpointMeta meta;
  model::MusicLSTM net;
  std::unique_ptr<live::Session> session;
  Recorder out;
  double now = 100;
};

}  // namespace

TEST_CASE(
    "live: an answer composed during the silence is due at its end, and dropped unheard if the player plays first") {
  const std::vector<PlayedNote> rising = {{60, 0, 1}, {64, 1, 1}, {67, 2, 0.5}, {72, 2.5, 1.5}};
  // The player comes back half a beat before the silence (1 beat after beat 4) would have ended.
  const PlayedNote again = {71, 4.5, 0.75};
  const double start = 101, beat = 0.25, back = start + again.start * beat;
  const double silence_end = start + (again.start + again.length + 1) * beat;
  const Bytes on = {0x90, uint8_t(again.pitch), 100}, off = {0x80, uint8_t(again.pitch), 0};
  const Bytes stray = {0x80, 50, 0};
  const double stray_off = back - 0.05;

  // Stepped all along: an answer is composed (and queued) during each silence, and the first one
  // is dropped when the player plays again.
  VirtualClock stepped(3);
  stepped.play(rising, start);
  stepped.run_until(stray_off);
  CHECK(stepped.session->stats().notes_scheduled.load() > 0);  // the first answer's notes wait in the queue
  // A note-off of no note ends the silence too. The real-time side drops the answer at once: at
  // the silence's end, the engine not having stepped since (a stall), nothing of it goes out.
  stepped.session->midi_in(stray.data(), 3, stray_off);
  stepped.now = start + 5 * beat;
  stepped.out.now = stepped.now;
  stepped.session->tick(stepped.now, stepped.out);
  CHECK(stepped.out.sent.empty());
  stepped.session->midi_in(on.data(), 3, back);
  stepped.run_until(back + again.length * beat);
  stepped.session->midi_in(off.data(), 3, back + again.length * beat);
  stepped.run_until(silence_end + 1.5);
  CHECK(stepped.session->stats().answers_dropped.load() >= 1);
  CHECK(stepped.session->stats().answers.load() == 1);

  // Handed every note at once and stepped only after the last: no answer is tried before the
  // player's last note, so none is dropped.
  VirtualClock at_once(3);
  std::vector<PlayedNote> all = rising;
  all.push_back(again);
  at_once.session->midi_in(stray.data(), 3, stray_off);
  for (const PlayedNote& n : all) {
    const Bytes n_on = {0x90, uint8_t(n.pitch), 100}, n_off = {0x80, uint8_t(n.pitch), 0};
    at_once.session->midi_in(n_on.data(), 3, start + n.start * beat);
    at_once.session->midi_in(n_off.data(), 3, start + (n.start + n.length) * beat);
  }
  at_once.now = silence_end - beat + 0.001;
  at_once.run_until(silence_end + 1.5);
  CHECK(at_once.session->stats().answers_dropped.load() == 0);
  CHECK(at_once.session->stats().answers.load() == 1);

  for (const VirtualClock* v : {&stepped, &at_once}) {
    REQUIRE(!v->out.sent.empty());
    CHECK(v->out.sent.front().bytes[0] == 0x90);
    CHECK(v->out.sent.front().due == doctest::Approx(silence_end).epsilon(1e-12));  // on the dot
    CHECK(v->out.sent.front().at < silence_end + 0.001);                            // and sent then
  }
  // The dropped answer left nothing behind: the network, the grammar, the tokenizer and the
  // random numbers are as if it had never been tried.
  Answer a, b;
  a.sent = stepped.out.sent;
  b.sent = at_once.out.sent;
  CHECK(note_ons(a).size() > 1);
  CHECK(note_ons(a) == note_ons(b));
}

TEST_CASE("live: the answer keeps to the positions in the beat the player struck and to the beat's subdivisions") {
  // Eighth triplets for six beats (positions 0, 4 and 8 of the 12 grid steps in a beat, the beat
  // doubled an octave down so that it is struck most); then Legato goes on (continue) for 4 s: 16
  // beats. This untrained network strikes after any number of steps.
  std::vector<PlayedNote> triplets;
  for (int k = 0; k < 18; ++k) {
    triplets.push_back({60 + k % 12, k / 3.0, 1 / 3.0});
    if (k % 3 == 0) triplets.push_back({48, k / 3.0, 1 / 3.0});
  }
  const double start = 100.5, step = 0.25 / 12;  // 240 bpm
  // The answer sounds from its first onset on at the silence's end, wherever in the beat the network
  // struck it: its onsets are counted from the first, at the position in the beat that leaves the
  // fewest of them off the beat's subdivisions.
  const auto off_grid = [&](double grid_strength) {
    VirtualClock v(9, live::Mode::Continue, grid_strength);
    v.play(triplets, start);
    v.run_until(start + 6 * 0.25 + 4.0);
    std::vector<double> dues;
    for (const auto& s : v.out.sent)
      if (s.bytes[0] == 0x90) dues.push_back(s.due);
    REQUIRE(dues.size() > 20);
    double fewest = 1;
    for (int first = 0; first < 12; ++first) {
      int off = 0;
      for (const double due : dues) {
        const auto position = (std::llround((due - dues.front()) / step) + first) % 12;
        off += position % 3 != 0 && position % 4 != 0 ? 1 : 0;
      }
      fewest = std::min(fewest, double(off) / double(dues.size()));
    }
    return fewest;
  };
  const double kept = off_grid(1), free = off_grid(0);
  INFO(kept, " against ", free);
  CHECK(kept == 0);
  CHECK(free > 0.2);
}
