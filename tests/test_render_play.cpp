// Live playback for real: a JACK server with its dummy driver, a receiving JACK client, and the
// actual miditool and composer programs playing into it. Every note-on and note-off must arrive,
// in order, within 10 ms of its time in the file. Skipped, visibly, only where JACK cannot start.
#include <doctest/doctest.h>

#include <jack/jack.h>
#include <jack/statistics.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>

#include "jack_clients.h"
#include "midi/reader.h"
#include "midi/writer.h"
#include "model/presets.h"
#include "render/midi_out.h"
#include "score_builder.h"
#include "small_training.h"
#include "temp_dir.h"
#include "test_render_process.h"
#include "test_render_svg.h"
#include "train/trainer.h"

using namespace legato;
using Clock = std::chrono::steady_clock;
using testing::Arrival;
using testing::JackServer;
using testing::Receiver;
using testing::skip_without_jack;
using testing::XrunCounter;

namespace {

struct NoteEvent {
  double seconds;
  bool on;
  int channel, pitch;
  bool same_kind(const NoteEvent& o) const { return on == o.on && channel == o.channel && pitch == o.pitch; }
};

// What a score should send, from the reader's own times: by time, note-offs before note-ons.
std::vector<NoteEvent> expected_events(const midi::Score& score) {
  std::vector<NoteEvent> events;
  for (const midi::Note& n : score.notes) {
    events.push_back({n.start_seconds, true, n.channel, n.pitch});
    events.push_back({n.start_seconds + n.duration_seconds, false, n.channel, n.pitch});
  }
  std::stable_sort(events.begin(), events.end(), [](const NoteEvent& a, const NoteEvent& b) {
    if (std::abs(a.seconds - b.seconds) > 1e-9) return a.seconds < b.seconds;
    return !a.on && b.on;
  });
  return events;
}

// How late or early a note may arrive. The player sends on the steady clock to within a fraction
// of a millisecond; JACK then hands a message on at its next cycle, up to one period later (128
// frames at 48 kHz: 2.7 ms), and the receiver notes the time in that cycle. Measured on 2 cores
// with real-time scheduling, idle or with both cores busy: 1.2 to 3.9 ms at worst. 10 ms leaves
// the player about 7 ms beyond JACK's own period; misses are retried only as miss_explained says.
constexpr double kTolerance = 0.010;

// The timing is checked in the plain build. Under AddressSanitizer the player and the receiving
// test run instrumented, several times slower and with the sanitizer's own pauses, which a user's
// player never has; that run checks what arrives and in what order, and reports the timing.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kTimed = false;
#else
constexpr bool kTimed = true;
#endif

std::vector<NoteEvent> notes_of(const std::vector<Arrival>& arrivals) {
  std::vector<NoteEvent> got;
  for (const Arrival& a : arrivals) {
    if (a.bytes.size() != 3) continue;
    const int status = a.bytes[0] & 0xF0;
    if (status == 0x90 || status == 0x80)
      got.push_back({a.seconds, status == 0x90 && a.bytes[2] > 0, a.bytes[0] & 0x0F, a.bytes[1]});
  }
  return got;
}

// The largest timing error as check_arrivals counts it, without checking; infinite when notes are
// missing or extra.
double largest_error(const std::vector<Arrival>& arrivals, const midi::Score& score) {
  const std::vector<NoteEvent> got = notes_of(arrivals), want = expected_events(score);
  if (got.empty() || got.size() != want.size()) return INFINITY;
  double worst = 0;
  for (size_t k = 0; k < got.size(); ++k)
    worst = std::max(worst, std::abs(got[k].seconds - got[0].seconds - (want[k].seconds - want[0].seconds)));
  return worst;
}

// Checks that the arrivals are exactly the expected note-ons and note-offs, in order (events at
// one instant and of one kind may come in any order among themselves), each within kTolerance of
// its time in the file counted from the first note-on. Returns the largest timing error in seconds.
double check_arrivals(const std::vector<Arrival>& arrivals, const midi::Score& score) {
  const std::vector<NoteEvent> got = notes_of(arrivals);
  const std::vector<NoteEvent> want = expected_events(score);
  REQUIRE(!want.empty());
  REQUIRE(got.size() == want.size());
  for (size_t start = 0; start < want.size();) {
    size_t end = start + 1;
    while (end < want.size() && std::abs(want[end].seconds - want[start].seconds) < 1e-9 &&
           want[end].on == want[start].on)
      ++end;
    std::vector<bool> used(end - start, false);
    for (size_t k = start; k < end; ++k) {
      bool found = false;
      for (size_t j = start; j < end && !found; ++j)
        if (!used[j - start] && got[k].same_kind(want[j])) used[j - start] = found = true;
      CAPTURE(k);
      CAPTURE(want[k].seconds);
      CHECK_MESSAGE(found, "event " << k << " (" << (got[k].on ? "on" : "off") << " ch " << got[k].channel << " pitch "
                                    << got[k].pitch << ") is not among those due at " << want[start].seconds << " s");
    }
    start = end;
  }
  const double zero = got[0].seconds - want[0].seconds;
  double worst = 0;
  for (size_t k = 0; k < got.size(); ++k) {
    const double error = got[k].seconds - zero - want[k].seconds;
    worst = std::max(worst, std::abs(error));
    CAPTURE(k);
    if (kTimed) CHECK(std::abs(error) <= kTolerance);
  }
  return worst;
}

// A playing is done once more, once, only when its timing missed by no more than the delays
// measured during it that are none of the player's doing: how late the system woke the player's
// thread (the program says so on stderr) and how late JACK ran its own cycles (its xruns; notes
// lost with xruns count as explained). On a busy 2-core machine that ignores real-time priority
// the player wakes 20-30 ms late about once in 20 playings, and without real-time scheduling JACK
// itself runs late and drops MIDI. A player that sends late of itself still fails.
bool miss_explained(double error, const std::string& program_err, const XrunCounter::Late& late) {
  if (error <= kTolerance) return false;
  if (std::isinf(error)) return late.xruns > 0;
  double late_wakeup = 0;
  const std::string woke = "woke the player up to ";
  if (const size_t at = program_err.find(woke); at != std::string::npos)
    late_wakeup = std::stod(program_err.substr(at + woke.size())) * 1e-3;
  MESSAGE("largest timing error " << error * 1e3 << " ms; the player woke up to " << late_wakeup * 1e3
                                  << " ms late, and JACK had " << late.xruns << " xruns, the longest "
                                  << late.longest_seconds * 1e3 << " ms late; its latest cycle ran "
                                  << late.latest_cycle_seconds * 1e3 << " ms after its start");
  return error - kTolerance <= late_wakeup + std::max(late.longest_seconds, late.latest_cycle_seconds);
}

midi::Note note(int pitch, int64_t start, int64_t duration, int channel, int program) {
  return testing::make_note(pitch, start, duration, channel, program, 96);
}

// About 4 s: a melody with chords and a repeated pitch, strings, drums, a tempo change.
midi::Score test_piece() {
  midi::Score s;
  s.ticks_per_quarter = 480;
  s.tempo_map = {{0, 500000, 0}, {1920, 750000, 0}};  // 120 bpm, then 80 bpm from the second bar
  s.time_signatures = {{0, 4, 4}};
  const int melody[] = {60, 62, 64, 64, 67, 65, 64, 62, 60, 67, 72, 71};
  for (int k = 0; k < 12; ++k) s.notes.push_back(note(melody[k], 240 * k, 240, 0, 0));  // 64 repeats at once
  s.notes.push_back(note(48, 0, 960, 0, 0));
  s.notes.push_back(note(52, 0, 960, 0, 0));  // a chord with the first melody note
  s.notes.push_back(note(55, 960, 1920, 1, 48));
  s.notes.push_back(note(59, 960, 1920, 1, 48));
  for (int k = 0; k < 8; ++k) s.notes.push_back(note(k % 2 ? 38 : 36, 360 * k + 120, 60, midi::kDrumChannel, 0));
  std::stable_sort(s.notes.begin(), s.notes.end(),
                   [](const midi::Note& a, const midi::Note& b) { return a.start_tick < b.start_tick; });
  s.update_times();
  return s;
}

}  // namespace

TEST_CASE("render: miditool play sends every note to a JACK port within 10 ms of its time") {
  if (skip_without_jack()) return;
  const auto dir = testing::temp_dir("play");
  midi::write_midi_file(test_piece(), dir / "piece.mid");
  const midi::Score score = midi::read_midi_file(dir / "piece.mid");
  Receiver receiver;

  const auto ports = testing::run_process({testing::program("miditool"), "ports"});
  INFO(ports.err);
  CHECK(ports.code == 0);
  CHECK(ports.out.find(receiver.port()) != std::string::npos);

  // Played twice at most (miss_explained).
  XrunCounter xruns;
  const double length = score.seconds_at(score.end_tick());
  std::vector<Arrival> arrivals;
  for (int attempt = 1;; ++attempt) {
    xruns.take();
    const auto started = Clock::now();
    const auto r = testing::run_process(
        {testing::program("miditool"), "play", (dir / "piece.mid").string(), "--port", receiver.port()});
    const double wall = std::chrono::duration<double>(Clock::now() - started).count();
    INFO(r.err);
    REQUIRE(r.code == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(wall >= length);  // real time, not as fast as possible
    arrivals = receiver.take();
    if (attempt == 2 || !miss_explained(largest_error(arrivals, score), r.err, xruns.take())) break;
    MESSAGE("miditool play: playing once more");
  }
  const double worst = check_arrivals(arrivals, score);
  MESSAGE("miditool play: " << 2 * score.notes.size() << " note-ons and note-offs over " << length
                            << " s, largest timing error " << worst * 1e3 << " ms");
  std::filesystem::remove_all(dir);
}

TEST_CASE("render: playback ports: by index, an unknown one, no MIDI system") {
  const auto dir = testing::temp_dir("play_errors");
  midi::write_midi_file(test_piece(), dir / "piece.mid");
  if (!std::filesystem::exists("/dev/snd/seq")) {  // no ALSA sequencer: without JACK there is no MIDI system
    const std::vector<std::string> no_jack = {"JACK_DEFAULT_SERVER=legato_absent_" + std::to_string(::getpid())};
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{testing::program("miditool"), "ports"},
          std::vector<std::string>{testing::program("miditool"), "play", (dir / "piece.mid").string()}}) {
      const auto r = testing::run_process(args, no_jack);
      CAPTURE(args[1]);
      CHECK(r.code == 1);
      CHECK(r.err.find("no MIDI system") != std::string::npos);
      CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);  // one clear line, not the libraries' noise
    }
  }
  if (!skip_without_jack()) {
    Receiver receiver;
    const auto r = testing::run_process(
        {testing::program("miditool"), "play", (dir / "piece.mid").string(), "--port", "no-such-port"});
    CHECK(r.code == 2);
    CHECK(r.err.find("no MIDI output port 'no-such-port'") != std::string::npos);
    CHECK(r.err.find(receiver.port()) != std::string::npos);  // it lists what there is

    // A port by its index in `miditool ports` ("INDEX<tab>jack<tab>NAME" lines).
    const auto ports = testing::run_process({testing::program("miditool"), "ports"});
    REQUIRE(ports.code == 0);
    std::string index;
    std::istringstream lines(ports.out);
    for (std::string line; std::getline(lines, line);)
      if (line.size() > receiver.port().size() && line.ends_with("\t" + receiver.port()))
        index = line.substr(0, line.find('\t'));
    REQUIRE(!index.empty());
    midi::Score short_piece;
    for (int k = 0; k < 3; ++k) short_piece.notes.push_back(note(70 + k, 120 * k, 100, 2, 10));
    short_piece.update_times();
    midi::write_midi_file(short_piece, dir / "short.mid");
    const auto by_index =
        testing::run_process({testing::program("miditool"), "play", (dir / "short.mid").string(), "--port", index});
    INFO(by_index.err);
    CHECK(by_index.code == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    check_arrivals(receiver.take(), midi::read_midi_file(dir / "short.mid"));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("render: composer --play sends the notes as it generates them; --wav and --svg render the piece") {
  if (skip_without_jack()) return;
  const auto dir = testing::temp_dir("compose_play");
  // A tiny model trained for a moment on short notes, so that its music stays short.
  std::filesystem::create_directories(dir / "corpus");
  for (int piece = 0; piece < 2; ++piece) {
    midi::Score s;
    for (int k = 0; k < 120; ++k) s.notes.push_back(note(55 + (k * (3 + piece)) % 17, 120 * k, 120, 0, 0));
    s.update_times();
    midi::write_midi_file(s, dir / "corpus" / ("p" + std::to_string(piece) + ".mid"));
  }
  model::TrainOptions train = testing::small_training(dir / "corpus", dir / "train");
  train.recipe.model.embedding_dim = 8;
  train.recipe.model.hidden = 16;
  train.recipe.model.dense = 16;
  train.recipe.seq_len = 16;
  train.recipe.batch = 8;
  train.recipe.epochs = 30;
  train.recipe.val_split = 0;
  train.recipe.transpose = 0;
  std::ostringstream log;
  REQUIRE(model::train(train, log) == 0);
  const std::string checkpoint = model::best_checkpoint(dir / "train").string();

  Receiver receiver;
  const auto wrong =
      testing::run_process({testing::program("composer"), "--checkpoint", checkpoint, "--play", "no-such-port"});
  CHECK(wrong.code == 2);
  CHECK(wrong.err.find("no-such-port") != std::string::npos);

  // Played twice at most (miss_explained); the seed makes the same piece.
  XrunCounter xruns;
  midi::Score score;
  std::vector<Arrival> arrivals;
  for (int attempt = 1;; ++attempt) {
    xruns.take();
    const auto r = testing::run_process(
        {testing::program("composer"), "--checkpoint", checkpoint, "--length", "150", "--tempo", "240", "--seed", "5",
         "--play", receiver.port(), "--out", (dir / "c.mid").string(), "--svg", (dir / "c.svg").string()
#ifdef LEGATO_HAVE_FLUIDSYNTH
                                                                                    ,
         "--wav", (dir / "c.wav").string()
#endif
        },
        {}, 120);
    INFO(r.err);
    REQUIRE(r.code == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    score = midi::read_midi_file(dir / "c.mid");
    arrivals = receiver.take();
    if (attempt == 2 || !miss_explained(largest_error(arrivals, score), r.err, xruns.take())) break;
    MESSAGE("composer --play: playing once more");
  }
  REQUIRE(!score.notes.empty());
  CHECK(score.seconds_at(score.end_tick()) > 1.0);  // long enough for the timing to mean something
  // The file has the piano in two hands (midi/hands.h); --play sends it as one part.
  midi::Score played = score;
  for (midi::Note& n : played.notes)
    if (!n.is_drum()) n.channel = 0;
  const double worst = check_arrivals(arrivals, played);
  MESSAGE("composer --play: " << score.notes.size() << " notes over " << score.seconds_at(score.end_tick())
                              << " s, largest timing error " << worst * 1e3 << " ms");
  const auto svg = testing::parse_svg(testing::slurp(dir / "c.svg"));
  CHECK(testing::select(svg, "rect", "note").size() == score.notes.size());
#ifdef LEGATO_HAVE_FLUIDSYNTH
  const std::string wav = testing::slurp(dir / "c.wav");
  REQUIRE(wav.size() > 44);
  CHECK(int64_t(wav.size() - 44) == 4 * std::llround((score.seconds_at(score.end_tick()) + 1.0) * 44100));
#endif
  std::filesystem::remove_all(dir);
}

// A JACK MIDI port holds only so many events per cycle (about 40 at a 128-frame period); a burst
// larger than that, such as the 32 controller messages of silence() after the note-offs of a cut
// answer, must wait for the next cycles rather than lose its tail.
TEST_CASE("render: a burst of messages larger than one JACK cycle holds arrives whole and in order") {
  if (skip_without_jack()) return;
  Receiver receiver;
  std::vector<std::vector<unsigned char>> sent;
  {
    render::MidiOutput out(receiver.port(), "legato_burst_" + std::to_string(::getpid()));
    for (int k = 0; k < 150; ++k) {
      const uint8_t on[3] = {uint8_t(0x90 | (k % 16)), uint8_t(30 + k % 60), 100};
      const uint8_t off[3] = {uint8_t(0x80 | (k % 16)), uint8_t(30 + k % 60), 0};
      out.send(on, 3);
      out.send(off, 3);
      sent.push_back({on[0], on[1], on[2]});
      sent.push_back({off[0], off[1], off[2]});
    }
    out.silence();  // the last 32 messages
    for (int c = 0; c < 16; ++c) {
      sent.push_back({uint8_t(0xB0 | c), 123, 0});
      sent.push_back({uint8_t(0xB0 | c), 120, 0});
    }
  }  // closing waits until what was queued has left
  std::vector<std::vector<unsigned char>> got;
  for (int k = 0; k < 100 && got.size() < sent.size(); ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    for (Arrival& a : receiver.take()) got.push_back(std::move(a.bytes));
  }
  CHECK(got.size() == sent.size());
  CHECK(got == sent);
}
