// trainer --infill-rate and composer --infill as a person runs them (docs/infill.md): the written
// file keeps every note outside the gap, N alternatives, and one line with exit code 2 for each
// refusal.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <string>
#include <tuple>

#include "midi/reader.h"
#include "midi/tokenizer_event.h"
#include "midi/writer.h"
#include "run_program.h"
#include "score_builder.h"
#include "temp_dir.h"
#include "test_midi_bytes.h"

namespace {

using legato::testing::run_program;

size_t lines_of(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

// The notes of a file whose onsets lie outside grid steps [from, to), with everything a note has.
std::vector<std::tuple<int64_t, int, int, int64_t, int, int, int>> outside(const std::filesystem::path& file,
                                                                           int64_t from, int64_t to) {
  const legato::midi::Score s = legato::midi::read_midi_file(file);
  std::vector<std::tuple<int64_t, int, int, int64_t, int, int, int>> out;
  for (const auto& n : s.notes) {
    const int64_t step = legato::midi::EventTokenizer().to_steps(n.start_tick, s.ticks_per_quarter);
    if (step < from || step >= to)
      out.emplace_back(n.start_tick, n.channel, n.pitch, n.duration_ticks, n.velocity, n.program, n.track);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A piano in two named tracks on one channel (right hand C5 up, left hand C3 down), eight bars of
// quarter notes, with the sustain pedal pressed and lifted every bar and a pitch bend at the end.
midi_test::Bytes two_hands() {
  midi_test::Track tempo, right, left;
  tempo.tempo(0, 500000).meta(0, 0x58, {4, 2, 24, 8}).end();
  right.meta(0, 0x03, {'R', 'H'}).program(0, 0, 0);
  left.meta(0, 0x03, {'L', 'H'});
  for (int k = 0; k < 32; ++k) {
    if (k % 4 == 0) right.cc(0, 0, 64, 127);
    right.on(0, 0, 72 + (k * 5) % 12, 90).off(400, 0, 72 + (k * 5) % 12);
    if (k % 4 == 3) right.cc(0, 0, 64, 0);
    right.raw(80, {0xB0, 11, uint8_t(60 + k)});  // expression, between the notes
    left.on(k == 0 ? 0 : 80, 0, 48 - (k * 7) % 12, 70).off(400, 0, 48 - (k * 7) % 12);
  }
  right.raw(0, {0xE0, 0, 0x50}).end();
  left.end();
  return midi_test::smf(1, 480, {tempo, right, left});
}

void write_bytes(const std::filesystem::path& path, const midi_test::Bytes& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

}  // namespace

TEST_CASE("programs: composer --infill keeps the file outside the gap; refusals are one line") {
  namespace midi = legato::midi;
  const auto data = legato::testing::temp_dir("programs_infill");
  for (int k = 0; k < 3; ++k) {  // piano and drums
    std::string name = "p";      // appended, not "p" + std::to_string(k): GCC 12 warns falsely about that
    name += std::to_string(k) + ".mid";
    midi::write_midi_file(legato::testing::scale_piece(k, false, 120), data / name);
  }
  const std::string common =
      "--preset tiny --data " + data.string() + " --epochs 1 --hidden 16 --seq-len 24 --batch 4 --eval-pieces 0 --out ";
  const auto fim = run_program("trainer", common + (data / "fim").string() + " --infill-rate 0.5");
  INFO(fim.output);
  REQUIRE(fim.status == 0);
  const auto plain = run_program("trainer", common + (data / "plain").string());
  REQUIRE(plain.status == 0);
  const auto seed_scheme =
      run_program("trainer", common + (data / "seed").string() + " --infill-rate 0.5 --scheme seed");
  CHECK(seed_scheme.status == 2);
  CHECK(lines_of(seed_scheme.output) == 1);
  CHECK(seed_scheme.output.find("--infill-rate needs the event scheme") != std::string::npos);

  const std::string file = (data / "p1.mid").string();
  const std::string ck = " --checkpoint " + (data / "fim" / "best.safetensors").string();
  const auto out = data / "filled.mid";
  const auto filled = run_program("composer", ck + " --infill " + file + " --bars 3-4 --num-outputs 2 --seed 5 --out " +
                                                  out.string() + " --against " + data.string());
  INFO(filled.output);
  REQUIRE(filled.status == 0);
  CHECK(filled.output.find("infilled grid steps 96-192") != std::string::npos);
  CHECK(filled.output.find("mean OA") != std::string::npos);  // --against measures the results
  for (const char* name : {"filled_1.mid", "filled_2.mid"}) {
    REQUIRE(std::filesystem::exists(data / name));
    CHECK(outside(data / name, 96, 192) == outside(file, 96, 192));
    CHECK(outside(data / name, 96, 192).size() < midi::read_midi_file(data / name).notes.size());  // new notes
  }
  // A file of the musician's own: its two hands' tracks, their names, the pedal, the controllers
  // and the pitch bend stay where they were (midi::with_notes), and each new note goes to the hand
  // whose notes' mean pitch is nearest its own.
  const midi_test::Bytes hands = two_hands();
  write_bytes(data / "hands.mid", hands);
  const auto edited = data / "hands_filled.mid";
  const auto hands_run = run_program(
      "composer", ck + " --infill " + (data / "hands.mid").string() + " --bars 3-4 --seed 2 --out " + edited.string());
  INFO(hands_run.output);
  REQUIRE(hands_run.status == 0);
  CHECK(hands_run.output.find("written anew") == std::string::npos);
  CHECK(outside(edited, 96, 192) == outside(data / "hands.mid", 96, 192));
  std::ifstream edited_in(edited, std::ios::binary);
  const midi_test::Bytes edited_bytes((std::istreambuf_iterator<char>(edited_in)), std::istreambuf_iterator<char>());
  CHECK(midi_test::other_events(edited_bytes) == midi_test::other_events(hands));
  const midi::Score filled_hands = midi::read_midi_file(edited);
  CHECK(filled_hands.track_count == 3);
  double pitch_sum[3] = {}, count[3] = {};  // the hands' notes in hands.mid, per track
  for (const auto& n : midi::read_midi_file(data / "hands.mid").notes) pitch_sum[n.track] += n.pitch, ++count[n.track];
  const double right_mean = pitch_sum[1] / count[1], left_mean = pitch_sum[2] / count[2];
  int new_notes = 0;
  for (const auto& n : filled_hands.notes)
    if (n.start_tick >= 3840 && n.start_tick < 7680 && !n.is_drum()) {
      ++new_notes;
      CHECK(n.track == (std::abs(n.pitch - right_mean) < std::abs(n.pitch - left_mean) ? 1 : 2));
    }
  CHECK(new_notes > 0);
#ifdef LEGATO_HAVE_FLUIDSYNTH
  // The WAV of the edited file sounds its sustain pedal, as miditool render plays the file it wrote.
  const auto sounded =
      run_program("composer", ck + " --infill " + (data / "hands.mid").string() + " --bars 3-4 --seed 2 --out " +
                                  edited.string() + " --wav " + (data / "hands.wav").string());
  REQUIRE(sounded.status == 0);
  const auto wav_bytes = [](const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  for (const bool pedal : {true, false}) {
    const auto rendered = run_program(
        "miditool", "render " + edited.string() + " " + (data / "again.wav").string() + (pedal ? "" : " --no-pedal"));
    REQUIRE(rendered.status == 0);
    CHECK((wav_bytes(data / "hands.wav") == wav_bytes(data / "again.wav")) == pedal);
  }
#endif
  // Dynamics: a piece quiet for four bars, then loud; bars 7-8 filled take the loudness beside them
  // (bars 5-6 and 9-10), not the whole piece's mean.
  midi_test::Track dynamics;
  for (int k = 0; k < 48; ++k)
    dynamics.on(k == 0 ? 0 : 80, 0, 60 + (k * 5) % 12, k < 16 ? 30 : 110).off(400, 0, 60 + (k * 5) % 12);
  dynamics.end();
  write_bytes(data / "dynamics.mid", midi_test::smf(0, 480, {dynamics}));
  const auto loud = run_program("composer", ck + " --infill " + (data / "dynamics.mid").string() +
                                                " --bars 7-8 --out " + (data / "dynamics_filled.mid").string());
  INFO(loud.output);
  REQUIRE(loud.status == 0);
  int loud_notes = 0;
  for (const auto& n : midi::read_midi_file(data / "dynamics_filled.mid").notes)
    if (n.start_tick >= 6 * 1920 && n.start_tick < 8 * 1920 && !n.is_drum()) {
      ++loud_notes;
      CHECK(n.velocity == 110);
    }
  CHECK(loud_notes > 0);

  // A file the reader had to repair is written anew, from what was read, and says so.
  midi_test::Bytes damaged = hands;
  damaged.insert(damaged.end(), {0x00, 0x01, 0x02});  // bytes after the last track
  write_bytes(data / "damaged.mid", damaged);
  const auto anew = run_program("composer", ck + " --infill " + (data / "damaged.mid").string() + " --bars 3-4 --out " +
                                                (data / "damaged_filled.mid").string());
  INFO(anew.output);
  CHECK(anew.status == 0);
  CHECK(anew.output.find("is written anew, one track per instrument") != std::string::npos);
  CHECK(outside(data / "damaged_filled.mid", 96, 192).size() == outside(data / "hands.mid", 96, 192).size());

  // Four candidate middles, the likeliest kept: the file outside the gap as it was.
  const auto chosen = run_program("composer", ck + " --infill " + file + " --bars 3-4 --infill-candidates 4 " +
                                                  "--infill-scored-tokens 8 --out " + out.string());
  CHECK(chosen.status == 0);
  CHECK(outside(out, 96, 192) == outside(file, 96, 192));
  const auto aimed =
      run_program("composer", ck + " --infill " + file + " --bars 3-4 --infill-density around --out " + out.string());
  CHECK(aimed.status == 0);
  CHECK(outside(out, 96, 192) == outside(file, 96, 192));
  const auto beats = run_program("composer", ck + " --infill " + file + " --beats 2-3 --out " + out.string());
  CHECK(beats.status == 0);
  CHECK(outside(out, 12, 36) == outside(file, 12, 36));

  // --infill-sees before: the same gap written by a continuation of what precedes it alone (no
  // sentinels read), the file outside the gap kept, the new notes other than the infilling's.
  const auto cont = data / "continued.mid";
  const auto continued =
      run_program("composer", ck + " --infill " + file + " --bars 3-4 --infill-sees before --seed 5 --out " +
                                  cont.string() + " --tokens-out " + (data / "continued.txt").string());
  INFO(continued.output);
  REQUIRE(continued.status == 0);
  CHECK(outside(cont, 96, 192) == outside(file, 96, 192));
  const auto inside = [](const std::filesystem::path& f) {
    const midi::Score s = midi::read_midi_file(f);
    std::vector<std::tuple<int64_t, int, int64_t>> in;
    for (const auto& n : s.notes)
      if (const int64_t step = midi::EventTokenizer().to_steps(n.start_tick, s.ticks_per_quarter);
          step >= 96 && step < 192)
        in.emplace_back(n.start_tick, n.pitch, n.start_tick + n.duration_ticks);
    return in;
  };
  CHECK_FALSE(inside(cont).empty());
  CHECK(inside(cont) != inside(data / "filled_1.mid"));  // the same seed, another context
  const int64_t gap_end_tick = 192 * midi::read_midi_file(cont).ticks_per_quarter / 12;
  for (const auto& [start, pitch, end] : inside(cont)) CHECK(end <= gap_end_tick);  // held to the gap's end
  std::ifstream read_tokens(data / "continued.txt");
  const std::string tokens((std::istreambuf_iterator<char>(read_tokens)), std::istreambuf_iterator<char>());
  CHECK(tokens.find("<suffix>") == std::string::npos);
  CHECK(tokens.find("<middle>") == std::string::npos);

  // Refusals: one line each, exit code 2.
  const std::string plain_ck = " --checkpoint " + (data / "plain" / "best.safetensors").string();
  for (const std::string& args : {plain_ck + " --infill " + file + " --bars 3-4",
                                  ck + " --infill " + file + " --bars 4-3",
                                  ck + " --infill " + file + " --bars 0-2",
                                  ck + " --infill " + file + " --bars 3-x",
                                  ck + " --infill " + file + " --beats 3",
                                  ck + " --infill " + file,
                                  ck + " --bars 3-4",
                                  ck + " --beats 1-2",
                                  ck + " --infill " + file + " --bars 300-301",
                                  ck + " --infill " + file + " --bars 3-4 --seconds 4",
                                  ck + " --infill " + (data / "none.mid").string() + " --bars 1-2",
                                  ck + " --infill " + file + " --bars 3-4 --listen",
                                  ck + " --bars 3 --infill-sees before",
                                  ck + " --infill " + file + " --bars 3-4 --infill-sees after",
                                  ck + " --infill " + file + " --bars 3-4 --infill-sees before --infill-candidates 2",
                                  ck + " --infill " + file + " --bars 3-4 --infill-candidates 0",
                                  ck + " --infill " + file + " --bars 3-4 --infill-overshoot maybe",
                                  ck + " --bars 3 --infill-candidates 2",
                                  ck + " --infill " + file + " --bars 3-4 --infill-sees before --infill-range around",
                                  ck + " --infill " + file + " --bars 3-4 --infill-range wide",
                                  ck + " --infill " + file + " --bars 3-4 --density low",
                                  ck + " --infill " + file + " --bars 3-4 --infill-sees before --infill-density around",
                                  ck + " --infill " + file + " --bars 3-4 --infill-density wide",
                                  ck + " --infill " + file + " --bars 3-4 --density low --infill-density before"}) {
    const auto r = run_program("composer", args + " --out " + out.string());
    INFO(args, "\n", r.output);
    CHECK(r.status == 2);
    CHECK(lines_of(r.output) == 1);
  }
  const auto refused = run_program("composer", plain_ck + " --infill " + file + " --bars 3-4");
  CHECK(refused.output ==
        "composer: --infill needs a checkpoint trained for infilling (trainer --infill-rate, event "
        "scheme); this one was not\n");
  CHECK(run_program("composer", ck + " --infill " + file + " --bars 3-4 --density low").output ==
        "composer: --density low: this checkpoint was trained without control tokens (trainer --controls)\n");
  CHECK(run_program("composer", "--help").output.find("--infill") != std::string::npos);
  CHECK(run_program("trainer", "--help").output.find("--infill-rate") != std::string::npos);
}

TEST_CASE("programs: composer --infill with --key, --density and --pitch-range guides the new bars") {
  namespace midi = legato::midi;
  const auto data = legato::testing::temp_dir("programs_infill_asked");
  for (int k = 0; k < 3; ++k) {  // C major scales with k more notes at each onset: three densities
    std::string name = "p";      // appended: GCC 12 warns falsely about "p" + std::to_string(k)
    name += std::to_string(k) + ".mid";
    midi::write_midi_file(legato::testing::doubled_scale_piece(k), data / name);
  }
  const auto trained = run_program("trainer", "--preset tiny --data " + data.string() +
                                                  " --epochs 1 --hidden 16 --seq-len 24 --batch 4 --eval-pieces 0 "
                                                  "--val-split 0 --infill-rate 0.5 --controls density --out " +
                                                  (data / "fim").string());
  INFO(trained.output);
  REQUIRE(trained.status == 0);
  const std::string file = (data / "p1.mid").string();
  const auto base_of = [&](const std::string& piece) {
    return " --checkpoint " + (data / "fim" / "best.safetensors").string() + " --infill " + piece +
           " --bars 3-6 --out " + (data / "f.mid").string();
  };
  const std::string base = base_of(file);
  // The new pitched notes (onsets in grid steps [from, to) of bars 3-6: 96-288) of a run with `asked`, seeds 1-3.
  const auto new_pitches = [&](const std::string& asked, int64_t from = 96, int64_t to = 288,
                               const std::string& in = "p1.mid") {
    std::vector<int> pitches;
    for (int seed = 1; seed <= 3; ++seed) {
      const std::string piece = (data / in).string();
      const auto r = run_program("composer", base_of(piece) + asked + " --seed " + std::to_string(seed));
      INFO(asked, "\n", r.output);
      REQUIRE(r.status == 0);
      CHECK(outside(data / "f.mid", 96, 288) == outside(piece, 96, 288));
      for (const int64_t step : {int64_t{96}, int64_t{288}})
        CHECK(r.output.find(std::to_string(step)) != std::string::npos);
      const midi::Score s = midi::read_midi_file(data / "f.mid");
      for (const auto& n : s.notes)
        if (const int64_t step = midi::EventTokenizer().to_steps(n.start_tick, s.ticks_per_quarter);
            step >= from && step < to && !n.is_drum())
          pitches.push_back(n.pitch);
    }
    return pitches;
  };
  const auto share = [](const std::vector<int>& pitches, auto&& keeps) {
    return pitches.empty() ? 0.0
                           : double(std::count_if(pitches.begin(), pitches.end(), keeps)) / double(pitches.size());
  };
  const auto in_f_sharp_major = [](int pitch) {  // F# G# A# B C# D# E#
    for (const int pc : {6, 8, 10, 11, 1, 3, 5})
      if (pitch % 12 == pc) return true;
    return false;
  };
  const auto in_range = [](int pitch) { return pitch >= 60 && pitch <= 64; };
  const std::vector<int> free = new_pitches("");
  const std::vector<int> keyed = new_pitches(" --key \"F# major\"");
  const std::vector<int> ranged = new_pitches(" --pitch-range 60-64");
  REQUIRE_FALSE(keyed.empty());
  REQUIRE_FALSE(ranged.empty());
  INFO(share(free, in_f_sharp_major), " ", share(keyed, in_f_sharp_major), " ", share(free, in_range), " ",
       share(ranged, in_range));
  CHECK(share(keyed, in_f_sharp_major) >= 0.9);
  CHECK(share(keyed, in_f_sharp_major) > share(free, in_f_sharp_major) + 0.2);
  CHECK(share(ranged, in_range) >= 0.9);
  CHECK(share(ranged, in_range) > share(free, in_range) + 0.2);
  // Density: the corpus's thirds from training; low writes fewer notes in the gap than high. The
  // density's own pull, the pitch classes' guidance off (this one-epoch network, which plays a
  // pitch's octave beside it, writes 99 and 176 notes so; with it 115 and 167: the real networks'
  // shares with both are in bench/results/quality.md, session 13).
  const auto notes_at = [&](const char* density) {
    return new_pitches(std::string(" --density ") + density + " --infill-pitch-classes off").size();
  };
  const size_t low = notes_at("low"), high = notes_at("high");
  INFO(low, " ", free.size(), " ", high);
  CHECK(3 * low < 2 * high);

  // The gap's last 2 beats lead into the first beat after it (--infill-lead-in, on by default): their
  // notes kept to that beat's range, widened to an octave about its middle. In lead.mid that beat is
  // p0's two octaves up, above anything the network learnt to play there.
  midi::Score original = midi::read_midi_file(data / "p0.mid");
  const auto step_of = [&](const midi::Note& n) {
    return midi::EventTokenizer().to_steps(n.start_tick, original.ticks_per_quarter);
  };
  for (auto& n : original.notes)
    if (!n.is_drum() && step_of(n) >= 288 && step_of(n) < 300) n.pitch += 24;
  midi::write_midi_file(original, data / "lead.mid");
  int64_t first_after = -1;
  for (const auto& n : original.notes)
    if (!n.is_drum() && step_of(n) >= 288 && (first_after < 0 || step_of(n) < first_after)) first_after = step_of(n);
  REQUIRE(first_after >= 288);
  int lo = 127, hi = 0;
  for (const auto& n : original.notes)
    if (!n.is_drum() && step_of(n) >= first_after && step_of(n) < first_after + 12)
      lo = std::min(lo, int(n.pitch)), hi = std::max(hi, int(n.pitch));
  if (hi - lo < 12) lo -= (12 - (hi - lo)) / 2, hi = lo + 12;
  const auto leads_in = [&](int pitch) { return pitch >= lo && pitch <= hi; };
  const std::vector<int> led = new_pitches("", 276, 288, "lead.mid"),
                         unled = new_pitches(" --infill-lead-in 0", 276, 288, "lead.mid");
  REQUIRE_FALSE(led.empty());
  INFO(lo, "..", hi, ": ", share(led, leads_in), " against ", share(unled, leads_in));
  CHECK(share(led, leads_in) >= 0.9);
  CHECK(share(led, leads_in) > share(unled, leads_in) + 0.2);

  // --infill-pitch-classes around: in triad.mid the bars beside the gap (as long as it: steps 0-96 and
  // 288-480) play only C, E and G (each pitched note moved down to the nearest), the rest of the C major
  // scale that the network learnt from never; the new notes keep to those three classes.
  midi::Score triad = midi::read_midi_file(data / "p1.mid");
  for (auto& n : triad.notes) {
    const int64_t step = midi::EventTokenizer().to_steps(n.start_tick, triad.ticks_per_quarter);
    if (n.is_drum() || (step >= 96 && step < 288) || step >= 480) continue;
    while (n.pitch % 12 != 0 && n.pitch % 12 != 4 && n.pitch % 12 != 7) --n.pitch;
  }
  midi::write_midi_file(triad, data / "triad.mid");
  const auto in_triad = [](int pitch) { return pitch % 12 == 0 || pitch % 12 == 4 || pitch % 12 == 7; };
  const std::vector<int> kept = new_pitches(" --infill-pitch-classes around --infill-lead-in 0", 96, 288, "triad.mid"),
                         loose = new_pitches(" --infill-pitch-classes off --infill-lead-in 0", 96, 288, "triad.mid");
  REQUIRE_FALSE(kept.empty());
  INFO(share(kept, in_triad), " against ", share(loose, in_triad));
  CHECK(share(kept, in_triad) >= 0.9);
  CHECK(share(kept, in_triad) > share(loose, in_triad) + 0.2);
  // Not asked, it is around where both sides are read: the same file as asked, another than off.
  const auto written = [&](const char* piece, const std::string& asked) {  // the file composer writes, seed 4
    REQUIRE(run_program("composer", base_of((data / piece).string()) + asked + " --seed 4").status == 0);
    std::ifstream in(data / "f.mid", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  CHECK(written("triad.mid", "") == written("triad.mid", " --infill-pitch-classes around"));
  CHECK(written("triad.mid", "") != written("triad.mid", " --infill-pitch-classes off"));
  // So is the rest before the gap's end guided (--infill-end-rest around). It acts where the network
  // strikes where the piece does, and this toy network strikes on sixteenths: in halves.mid every bar
  // plays sixteenths in its first half and rests in its second.
  midi::Score halves;
  halves.ticks_per_quarter = 480;
  for (int bar = 0; bar < 10; ++bar)
    for (int k = 0; k < 8; ++k)
      halves.notes.push_back(legato::testing::make_note(60 + (k * 2) % 12, 1920 * bar + 120 * k, 100));
  halves.update_times();
  midi::write_midi_file(halves, data / "halves.mid");
  const auto rested = [&](const std::string& asked) { return written("halves.mid", asked); };
  CHECK(rested("") == rested(" --infill-end-rest around"));
  CHECK(rested("") != rested(" --infill-end-rest off"));
  // A density asked stands instead: off unless asked for.
  CHECK(rested(" --density low") == rested(" --density low --infill-end-rest off"));
  CHECK(rested(" --density low") != rested(" --density low --infill-end-rest around"));

  // The new notes struck where the piece strikes (--infill-grid, on by default): triplets.mid plays
  // eighth triplets only (positions 0, 4 and 8 of the 12 in a beat), this toy network sixteenths.
  midi::write_midi_file(legato::testing::triplets_piece(), data / "triplets.mid");
  const auto on_triplets = [&](const std::string& asked) {  // the new onsets' share on the triplets, seeds 1-3
    legato::testing::TripletCount count;
    for (int seed = 1; seed <= 3; ++seed) {
      const std::string piece = (data / "triplets.mid").string();
      REQUIRE(run_program("composer", base_of(piece) + asked + " --seed " + std::to_string(seed)).status == 0);
      CHECK(outside(data / "f.mid", 96, 288) == outside(piece, 96, 288));
      count.add(midi::read_midi_file(data / "f.mid"), 96, 288);
    }
    return count.share();
  };
  CHECK(written("triplets.mid", "") == written("triplets.mid", " --infill-grid around"));  // the default
  const double gridded = on_triplets(""), free_onsets = on_triplets(" --infill-grid off");
  INFO(gridded, " against ", free_onsets);
  CHECK(gridded >= 0.9);
  CHECK(gridded > free_onsets + 0.2);
  const double before_gap = on_triplets(" --infill-sees before");  // before the gap alone: the same grid
  CHECK(before_gap >= 0.9);
  CHECK(before_gap > on_triplets(" --infill-sees before --infill-grid off") + 0.2);
  CHECK(on_triplets(" --infill-grid-strength 0") == free_onsets);
  // A density asked stands instead (it may need positions the piece does not strike): off unless asked for.
  CHECK(on_triplets(" --density high") == on_triplets(" --density high --infill-grid off"));
  CHECK(on_triplets(" --density high --infill-grid around") >= 0.9);

  for (const char* asked :
       {" --style calm", " --key H", " --density sparse", " --pitch-range 60-64 --infill-range around",
        " --pitch-range 60-64 --infill-lead-in 1", " --infill-sees before --infill-lead-in 2",
        " --infill-sees before --infill-pitch-classes around", " --key C --infill-pitch-classes before",
        " --infill-sees before --infill-end-rest around", " --infill-end-rest-strength 2",
        " --infill-sees before --infill-grid around", " --infill-grid-strength 1.5"}) {
    const auto r = run_program("composer", base + asked);
    INFO(asked, "\n", r.output);
    CHECK(r.status == 2);
    CHECK(lines_of(r.output) == 1);
  }
  CHECK(run_program("composer", base + " --style calm").output ==
        "composer: --style calm does not go with --infill: the new bars keep the style of the file around them\n");
}
