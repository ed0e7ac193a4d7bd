// The seed scheme's spelling, chords and quantization against hand-worked music21 results, the
// event scheme's round trip, the vocabulary and transposition.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "midi/pitch_names.h"
#include "midi/reader.h"
#include "midi/tokenizer.h"
#include "midi/tokenizer_event.h"
#include "midi/vocabulary.h"
#include "midi/writer.h"
#include "test_midi_bytes.h"

using namespace legato::midi;
using midi_test::smf;
using midi_test::Track;
using Tokens = std::vector<std::string>;

namespace {
Tokens seed_tokens(const std::vector<Track>& tracks, uint16_t tpq = 96) {
  const auto seed = make_tokenizer("seed");
  ReadOptions options;
  options.pairing = seed->note_pairing();
  return seed->tokenize(read_midi(smf(1, tpq, tracks), "seed.mid", options));
}

std::string chord_name(std::vector<int> pcs) {
  std::string s;
  for (int pc : normal_order(pcs)) {
    if (!s.empty()) s += '.';
    s += std::to_string(pc);
  }
  return s;
}

// Every byte-built file the event round trip must survive.
std::vector<Score> event_test_scores() {
  std::vector<Score> scores;
  Track piano, strings, drums, conductor;
  conductor.tempo(0, 550000).end();
  piano.program(0, 0, 0)
      .on(0, 0, 48)
      .on(0, 0, 72)
      .off(96, 0, 48)
      .off(0, 0, 72)  // chord over two octaves
      .on(7, 0, 60, 33)
      .off(3, 0, 60)  // off-grid, very short
      .on(1000, 0, 61)
      .off(2000, 0, 61)  // long rest, long note
      .on(0, 0, 61)
      .off(10, 0, 61)
      .end();
  strings.program(0, 1, 48).on(32, 1, 55, 120).off(64, 1, 55).on(0, 1, 57).off(64, 1, 57).end();
  drums.on(0, 9, 36).off(10, 9, 36).on(24, 9, 42).off(10, 9, 42).on(0, 9, 38).off(30, 9, 38).end();
  scores.push_back(read_midi(smf(1, 96, {conductor, piano, strings, drums}), "band.mid"));
  Track solo;
  solo.on(0, 0, 60).raw(0, {0x90, 64, 90}).raw(50, {67, 90}).raw(50, {60, 0}).raw(0, {64, 0}).raw(70, {67, 0}).end();
  scores.push_back(read_midi(smf(0, 480, {solo}), "solo.mid"));
  return scores;
}

}  // namespace

TEST_CASE("midi: pitch names use music21's spelling") {
  CHECK(pitch_name(60) == "C4");
  CHECK(pitch_name(61) == "C#4");
  CHECK(pitch_name(51) == "E-3");
  CHECK(pitch_name(78) == "F#5");
  CHECK(pitch_name(70) == "B-4");
  CHECK(pitch_name(68) == "G#4");
  CHECK(pitch_name(21) == "A0");
  CHECK(pitch_name(0) == "C-1");
  for (int p = 12; p < 128; ++p) CHECK(parse_pitch_name(pitch_name(p)) == p);
  CHECK(parse_pitch_name("B--3") == 57);
  CHECK_FALSE(parse_pitch_name("H4"));
  CHECK_FALSE(parse_pitch_name("C"));
  CHECK_FALSE(parse_pitch_name("4.9"));
}

TEST_CASE("midi: chord tokens follow music21's normalOrder") {
  CHECK(chord_name({60, 64, 67}) == "0.4.7");         // C major: 3-11B
  CHECK(chord_name({64, 69}) == "4.9");               // E with A
  CHECK(chord_name({60, 63, 67}) == "0.3.7");         // C minor: 3-11A
  CHECK(chord_name({53, 57, 60}) == "5.9.0");         // F major wraps past B
  CHECK(chord_name({67, 71, 74, 77}) == "11.2.5.7");  // G7, 4-27B
  CHECK(chord_name({71, 74, 77, 81}) == "9.11.2.5");  // B half-diminished, 4-27A
  CHECK(chord_name({60, 64, 67, 71}) == "11.0.4.7");  // Cmaj7, 4-20: tie broken to the left
  CHECK(chord_name({55, 67, 79}) == "7");             // one pitch class: a lone number
  CHECK(chord_name({60, 66}) == "0.6");               // tritone, symmetric
  CHECK(chord_name({61, 65, 69}) == "1.5.9");         // augmented, symmetric
  // 5-20: Forte's table (and so music21) has 0 1 3 7 8 where Rahn's rule gives 0 1 5 6 8.
  CHECK(chord_name({0, 1, 5, 6, 8}) == "5.6.8.0.1");
}

TEST_CASE("midi: seed scheme gives note names, chords of equal length, and quantized onsets") {
  Track t;
  t.program(0, 0, 0)
      .on(0, 0, 60)
      .on(0, 0, 64)
      .on(0, 0, 67)
      .off(96, 0, 60)
      .off(0, 0, 64)
      .off(0, 0, 67)  // C major
      .on(0, 0, 64)
      .on(3, 0, 69)
      .off(93, 0, 64)
      .off(3, 0, 69)  // E, A 3 ticks later (< 1/16 q): a chord
      .on(0, 0, 66)
      .on(0, 0, 78)
      .off(48, 0, 66)
      .off(48, 0, 78)  // same onset, different ends: two notes
      .on(0, 0, 51)
      .off(48, 0, 51)
      .end();
  CHECK(seed_tokens({t}) == Tokens{"0.4.7", "4.9", "F#4", "F#5", "E-3"});
}

TEST_CASE("midi: seed chords gather as music21 does, a gathered note may join a second chord") {
  // Ticks at 96 per quarter, so the tolerance is 6. C4 0-96, G4 1-103, E4 3-100: E joins C's
  // chord (ends 4 apart), G does not (ends 7 apart); then G gathers E again (ends 3 apart).
  Track t;
  t.on(0, 0, 60).on(1, 0, 67).on(2, 0, 64).off(93, 0, 60).off(4, 0, 64).off(3, 0, 67).end();
  CHECK(seed_tokens({t}) == Tokens{"0.4", "4.7"});
}

TEST_CASE("midi: seed scheme quantizes onsets to quarters or thirds before merging tracks") {
  // Track 1 plays at tick 26 (0.27 q -> 0.25), track 2 at tick 23 (0.24 q -> 0.25): after
  // quantization they start together and track order decides, though track 2 starts earlier.
  Track a, b;
  a.program(0, 0, 0).on(26, 0, 72).off(20, 0, 72).on(13, 0, 74).off(10, 0, 74).end();  // 74 at 59 -> 0.667
  b.program(0, 1, 0).on(23, 1, 48).off(20, 1, 48).on(7, 1, 50).off(10, 1, 50).end();   // 50 at 50 -> 0.5
  CHECK(seed_tokens({a, b}) == Tokens{"C5", "C3", "D3", "D5"});
}

TEST_CASE("midi: seed scheme takes the first instrument's part, merged over its tracks") {
  Track piano1, violin, piano2;
  piano1.program(0, 0, 0).on(0, 0, 60).off(96, 0, 60).on(96, 0, 62).off(96, 0, 62).end();
  violin.program(0, 1, 40).on(0, 1, 76).off(96, 1, 76).end();
  piano2.program(0, 2, 0).on(48, 2, 43).off(96, 2, 43).end();
  CHECK(seed_tokens({piano1, violin, piano2}) == Tokens{"C4", "G2", "D4"});
  // Without program changes there are no instruments: all notes count.
  Track x, y;
  x.on(0, 0, 60).off(96, 0, 60).end();
  y.on(0, 1, 76).off(96, 1, 76).end();
  CHECK(seed_tokens({x, y}) == Tokens{"C4", "E5"});
  // An instrument change part-way through a track ends that track's part there.
  Track switching;
  switching.program(0, 0, 0).on(0, 0, 60).off(96, 0, 60).program(0, 0, 40).on(0, 0, 62).off(96, 0, 62).end();
  CHECK(seed_tokens({switching}) == Tokens{"C4"});
}

TEST_CASE("midi: seed detokenizing spaces elements by half a quarter, chords in octave 4, on a piano") {
  const auto tok = make_tokenizer("seed");
  const Tokens tokens = {"C#5", "0.4.7", "nonsense", "E-3", "11.2"};
  const Score s = tok->detokenize(tokens);
  REQUIRE(s.notes.size() == 7);
  const int q = s.ticks_per_quarter;
  CHECK(s.notes[0].pitch == 73);
  CHECK(s.notes[0].start_tick == 0);
  CHECK(s.notes[1].pitch == 60);
  CHECK(s.notes[2].pitch == 64);
  CHECK(s.notes[3].pitch == 67);
  CHECK(s.notes[3].start_tick == q / 2);
  CHECK(s.notes[4].pitch == 51);
  CHECK(s.notes[4].start_tick == q);  // the unknown token took no time
  CHECK(s.notes[5].pitch == 71);
  CHECK(s.notes[6].pitch == 62);
  for (const Note& n : s.notes) {
    CHECK(n.program == 0);
    CHECK(n.duration_ticks == q);
  }
  // Through a MIDI file and back, the known tokens come out again.
  const Score back = read_midi(write_midi(s), "seed_out.mid");
  CHECK(tok->tokenize(back) == Tokens{"C#5", "0.4.7", "E-3", "11.2"});
}

TEST_CASE("midi: event scheme round trip keeps pitch, onset and duration on the grid") {
  const EventTokenizer tok;
  for (const Score& s : event_test_scores()) {
    const Tokens tokens = tok.tokenize(s);
    REQUIRE(tokens.size() > 2);
    CHECK(tokens.front() == "BOS");
    CHECK(tokens.back() == "EOS");
    const Score back = tok.detokenize(tokens);
    CHECK(tok.grid_notes(back) == tok.grid_notes(s));
    CHECK(tok.tokenize(back) == tokens);
    // And through a MIDI file, as the model's output will travel.
    const Score file = read_midi(write_midi(back), "event_out.mid");
    CHECK(tok.grid_notes(file) == tok.grid_notes(s));
  }
}

TEST_CASE("midi: event tokens: chords keep octaves, rests and long notes split, instruments and drums") {
  const EventTokenizer tok;
  const Tokens t = tok.tokenize(event_test_scores()[0]);
  auto index_of = [&](const std::string& token, size_t from = 0) {
    return size_t(std::find(t.begin() + long(from), t.end(), token) - t.begin());
  };
  // The two-octave chord: N48 then N72 with no time shift between.
  const size_t c3 = index_of("N48");
  REQUIRE(c3 + 3 < t.size());
  CHECK(t[c3 + 1] == "D12");
  CHECK(t[c3 + 2] == "N72");
  CHECK(t[c3 - 1] == "P0");
  CHECK(index_of("DRUMS") < t.size());
  CHECK(index_of("P48") < t.size());
  // 1000 ticks of rest at 96 per quarter: 125 steps = T48 T48 T29.
  const size_t rest = index_of("T48");
  REQUIRE(rest + 2 < t.size());
  CHECK(t[rest + 1] == "T48");
  CHECK(t[rest + 2] == "T29");
  // 2000 ticks = 250 steps: D96 D96 D58.
  const size_t long_note = index_of("N61");
  REQUIRE(long_note + 3 < t.size());
  CHECK(t[long_note + 1] == "D96");
  CHECK(t[long_note + 2] == "D96");
  CHECK(t[long_note + 3] == "D58");
  // Drums come back on channel 10, each program on its own track with that program.
  const Score back = tok.detokenize(t);
  int drum_notes = 0;
  for (const Note& n : back.notes) {
    if (n.pitch == 36 || n.pitch == 38 || n.pitch == 42) {
      CHECK(n.channel == kDrumChannel);
      ++drum_notes;
    }
    if (n.pitch == 55) CHECK(n.program == 48);
  }
  CHECK(drum_notes == 3);
}

TEST_CASE("midi: event scheme velocity bins and a coarser grid") {
  EventOptions options;
  options.velocity_bins = 4;
  options.steps_per_quarter = 4;
  const EventTokenizer tok(options);
  const Score s = event_test_scores()[0];
  const Tokens t = tok.tokenize(s);
  CHECK(std::find(t.begin(), t.end(), "V1") != t.end());  // velocity 33
  CHECK(std::find(t.begin(), t.end(), "V3") != t.end());  // velocity 120
  const Score back = tok.detokenize(t);
  CHECK(tok.grid_notes(back) == tok.grid_notes(s));
  for (const Note& n : back.notes)
    if (n.pitch == 55) CHECK(n.velocity == 112);  // centre of bin 3 of 4
  CHECK_THROWS_AS(EventTokenizer(EventOptions{0, 48, 96, 0}), std::invalid_argument);
}

TEST_CASE("midi: vocabulary counts, orders, maps rare tokens to UNK, and saves as JSON") {
  Vocabulary v;
  v.count(Tokens{"BOS", "N60", "D12", "N60", "D12", "N64", "D3", "EOS"});
  v.count(Tokens{"BOS", "N60", "D12", "a \"quoted\\ token", "EOS"});
  const auto freq = v.most_frequent();
  REQUIRE(freq.size() == 7);
  CHECK(freq[0] == std::make_pair(std::string("D12"), int64_t(3)));
  CHECK(freq[1] == std::make_pair(std::string("N60"), int64_t(3)));
  CHECK(freq[2].second == 2);
  CHECK(v.total_count() == 13);

  v.build(2, {"UNK", "BOS", "EOS"});
  CHECK(v.size() == 5);  // UNK BOS EOS D12 N60
  CHECK(v.id("UNK") == 0);
  CHECK(v.id("D12") == 3);
  CHECK(v.id("N64") == 0);  // seen once: rarer than the minimum count
  const std::vector<int> ids = v.encode(Tokens{"BOS", "N64", "N60", "EOS"});
  CHECK(ids == std::vector<int>{1, 0, 4, 2});
  CHECK(v.decode(ids) == Tokens{"BOS", "UNK", "N60", "EOS"});
  CHECK_THROWS(v.decode(std::vector<int>{99}));
  // The event tokenizer skips UNK when detokenizing.
  const Score s = EventTokenizer().detokenize(v.decode(ids));
  REQUIRE(s.notes.size() == 1);
  CHECK(s.notes[0].pitch == 60);

  v.build(1, {}, Vocabulary::Order::sorted);
  CHECK(v.token(0) == "BOS");
  CHECK(v.id("nothing") == -1);  // no UNK in this vocabulary
  CHECK_THROWS(v.encode(Tokens{"nothing"}));
  const auto path = std::filesystem::temp_directory_path() / "legato_test_vocab.json";
  v.save(path);
  const Vocabulary loaded = Vocabulary::load(path);
  std::filesystem::remove(path);
  REQUIRE(loaded.size() == v.size());
  for (size_t i = 0; i < v.size(); ++i) CHECK(loaded.token(int(i)) == v.token(int(i)));
  CHECK(loaded.id("a \"quoted\\ token") == v.id("a \"quoted\\ token"));
  CHECK_THROWS(Vocabulary::from_json("[\"a\", 3]"));
  CHECK_THROWS(Vocabulary::from_json("[\"a\", \"a\"]"));
}

TEST_CASE("midi: transposition moves pitched notes and leaves drums") {
  const Score s = event_test_scores()[0];
  const auto up = transpose(s, 5);
  REQUIRE(up);
  for (size_t i = 0; i < s.notes.size(); ++i)
    CHECK(up->notes[i].pitch == s.notes[i].pitch + (s.notes[i].is_drum() ? 0 : 5));
  const auto down = transpose(s, -3);
  REQUIRE(down);
  CHECK(down->notes[0].pitch == s.notes[0].pitch - (s.notes[0].is_drum() ? 0 : 3));
  CHECK_FALSE(transpose(s, 80));  // C5 + 80 leaves the MIDI range
  // The seed tokens move with it: C major becomes F major.
  Track t;
  t.on(0, 0, 60).on(0, 0, 64).on(0, 0, 67).off(96, 0, 60).off(0, 0, 64).off(0, 0, 67).end();
  const Score c_major = read_midi(smf(0, 96, {t}), "c.mid");
  CHECK(make_tokenizer("seed")->tokenize(*transpose(c_major, 5)) == Tokens{"5.9.0"});
  CHECK_THROWS_AS(make_tokenizer("abc"), std::invalid_argument);
}

TEST_CASE("midi: seed scheme, format 0: one part as music21 makes it, or one part per channel on request") {
  // Two channels whose program changes open the file, as in AT.mid of the seed corpus: in the
  // single part music21 makes, the piano's instrument is followed at once by the violin's, so
  // the first instrument's part holds nothing.
  Track t;
  t.program(0, 0, 0)
      .program(0, 1, 40)
      .on(0, 0, 60)
      .on(0, 1, 79)
      .off(48, 0, 60)
      .off(0, 1, 79)
      .on(0, 0, 64)
      .off(48, 0, 64)
      .end();
  const Score score = read_midi(smf(0, 96, {t}), "format0.mid");
  CHECK(make_tokenizer("seed")->tokenize(score).empty());
  const auto split = make_tokenizer("seed", {}, SeedOptions{true});
  CHECK(split->tokenize(score) == Tokens{"C4", "E4"});  // the piano's part; the violin's G5 is not in it
  // Format 1 is split by track already: the option changes nothing there.
  Track piano, violin;
  piano.program(0, 0, 0).on(0, 0, 60).off(48, 0, 60).on(0, 0, 64).off(48, 0, 64).end();
  violin.program(0, 1, 40).on(0, 1, 79).off(48, 1, 79).end();
  const Score format1 = read_midi(smf(1, 96, {piano, violin}), "format1.mid");
  CHECK(split->tokenize(format1) == make_tokenizer("seed")->tokenize(format1));
  CHECK(split->tokenize(format1) == Tokens{"C4", "E4"});
}

TEST_CASE("event tokens: an instrument's two names, as the tokenizer writes them and the grammar reads them") {
  CHECK(instrument_token(0) == "P0");
  CHECK(instrument_token(127) == "P127");
  CHECK(instrument_token(-1) == "DRUMS");
  CHECK(ensemble_token(40) == "I40");
  CHECK(ensemble_token(-1) == "IDRUMS");
}
