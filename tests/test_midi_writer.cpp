// The writer: format 1, a tempo track, one track per instrument, and a reader that reads back
// exactly what it wrote.
#include <doctest/doctest.h>

#include <algorithm>

#include "midi/reader.h"
#include "midi/writer.h"
#include "score_builder.h"
#include "test_midi_bytes.h"

using namespace legato::midi;

namespace {
Note note(int pitch, int64_t start, int64_t duration, int channel = 0, int program = 0, int velocity = 80) {
  return legato::testing::make_note(pitch, start, duration, channel, program, velocity);
}

Score example_score() {
  Score s;
  s.ticks_per_quarter = 384;
  s.tempo_map = {{0, 500000, 0}, {768, 400000, 0}};
  s.time_signatures = {{0, 3, 4}, {1152, 6, 8}};
  s.key_signatures = {{0, 2, false}, {1152, -4, true}};
  s.notes = {note(60, 0, 384),           note(64, 0, 384, 0, 0, 101), note(60, 192, 384),  // overlaps the first C4
             note(60, 576, 0),              // zero length, right where a C4 ends
             note(36, 0, 96, 9, 0, 120),    // kick drum
             note(72, 96, 200, 1, 40),      // violin
             note(74, 96, 100, 2, 73),      // flute
             note(60, 1000, 50, 15, 127)};  // last channel, last program
  s.update_times();
  return s;
}

void check_same_notes(const Score& a, const Score& b) {
  REQUIRE(a.notes.size() == b.notes.size());
  // Both in the reader's order: by start, then track; compare as sorted multisets of fields.
  auto key = [](const Note& n) {
    return std::make_tuple(n.start_tick, n.channel, n.pitch, n.duration_ticks, n.velocity, n.program);
  };
  std::vector<decltype(key(a.notes[0]))> ka, kb;
  for (const Note& n : a.notes) ka.push_back(key(n));
  for (const Note& n : b.notes) kb.push_back(key(n));
  std::sort(ka.begin(), ka.end());
  std::sort(kb.begin(), kb.end());
  CHECK(ka == kb);
}
}  // namespace

TEST_CASE("midi: write then read gives back the same notes, tempo, meter and keys") {
  const Score original = example_score();
  const std::vector<uint8_t> bytes = write_midi(original);
  ReadOptions fifo;
  fifo.pairing = NotePairing::fifo;
  const Score back = read_midi(bytes, "written.mid", fifo);
  CHECK(back.format == 1);
  CHECK(back.ticks_per_quarter == 384);
  check_same_notes(original, back);
  // pretty_midi's pairing reads every note back too, but for the zero-length one, which it drops.
  Score without_zero_length = original;
  std::erase_if(without_zero_length.notes, [](const Note& n) { return n.duration_ticks == 0; });
  REQUIRE(without_zero_length.notes.size() == original.notes.size() - 1);
  check_same_notes(without_zero_length, read_midi(bytes, "written.mid"));
  REQUIRE(back.tempo_map.size() == 2);
  CHECK(back.tempo_map[1].tick == 768);
  CHECK(back.tempo_map[1].micros_per_quarter == 400000);
  CHECK(back.tempo_map[1].seconds == doctest::Approx(1.0));
  REQUIRE(back.time_signatures.size() == 2);
  CHECK(back.time_signatures[1].numerator == 6);
  CHECK(back.time_signatures[1].denominator == 8);
  REQUIRE(back.key_signatures.size() == 2);
  CHECK(back.key_signatures[1].sharps == -4);
  CHECK(back.key_signatures[1].minor);
  // And writing what was read gives the same bytes.
  CHECK(write_midi(back) == bytes);
}

TEST_CASE("midi: the writer makes a tempo track and one track per instrument with its program") {
  const Score original = example_score();
  const std::vector<uint8_t> bytes = write_midi(original);
  const Score back = read_midi(bytes, "written.mid");
  // Instruments: piano ch1 (twice: the C4 that starts while another sounds and ends apart from
  // it needs a track of its own), drums ch10, violin, flute, program 127 on ch16, plus the tempo
  // track.
  CHECK(back.track_count == 7);
  CHECK_FALSE(back.track_has_notes[0]);
  for (const Note& n : back.notes) {
    CHECK(n.track >= 1);
    // Each instrument track starts with its own program change at tick 0.
    const auto it = std::find_if(back.program_changes.begin(), back.program_changes.end(),
                                 [&](const ProgramChange& pc) { return pc.track == n.track; });
    REQUIRE(it != back.program_changes.end());
    CHECK(it->tick == 0);
    CHECK(it->program == n.program);
    CHECK(it->channel == n.channel);
  }
  // Every chunk ends with the end-of-track meta event, and nothing follows the last chunk.
  size_t pos = 14;
  int chunks = 0;
  while (pos < bytes.size()) {
    REQUIRE(pos + 8 <= bytes.size());
    CHECK(std::string(bytes.begin() + long(pos), bytes.begin() + long(pos) + 4) == "MTrk");
    const size_t len = (size_t(bytes[pos + 4]) << 24) | (size_t(bytes[pos + 5]) << 16) | (size_t(bytes[pos + 6]) << 8) |
                       bytes[pos + 7];
    pos += 8 + len;
    REQUIRE(pos <= bytes.size());
    CHECK(bytes[pos - 3] == 0xFF);
    CHECK(bytes[pos - 2] == 0x2F);
    CHECK(bytes[pos - 1] == 0x00);
    ++chunks;
  }
  CHECK(chunks == 7);
}

TEST_CASE("midi: read, write, read of a byte-built file keeps every note") {
  midi_test::Track conductor, a, b;
  conductor.tempo(0, 450000).meta(0, 0x58, {4, 2, 24, 8}).end();
  a.program(0, 0, 5)
      .raw(0, {0x90, 60, 70})
      .raw(0, {67, 71})
      .raw(48, {60, 0})
      .raw(0, {67, 0})
      .on(0, 0, 60)
      .off(0, 0, 60)
      .end();
  b.program(0, 9, 0).on(12, 9, 38).on(0, 9, 42).off(6, 9, 38).off(6, 9, 42).end();
  const Score first = read_midi(midi_test::smf(1, 120, {conductor, a, b}), "built.mid");
  const Score second = read_midi(write_midi(first), "rewritten.mid");
  check_same_notes(first, second);
  CHECK(second.tempo_map.size() == 1);
  CHECK(second.notes[0].start_seconds == doctest::Approx(first.notes[0].start_seconds));
}

TEST_CASE("midi: the writer refuses what a file cannot hold") {
  Score s = example_score();
  s.ticks_per_quarter = 40000;
  CHECK_THROWS_AS(write_midi(s), std::invalid_argument);
  s.ticks_per_quarter = 480;
  s.smpte = true;
  CHECK_THROWS_AS(write_midi(s), std::invalid_argument);
}

TEST_CASE("midi: a note nested in a longer one of the same pitch gets a track of its own") {
  // Two source tracks on one channel: a long C4 and a short C4 inside it.
  midi_test::Track a, b;
  a.on(0, 0, 60).off(960, 0, 60).end();
  b.on(100, 0, 60).off(50, 0, 60).end();
  const Score merged = read_midi(midi_test::smf(1, 96, {a, b}), "merged.mid");
  const Score back = read_midi(write_midi(merged), "split.mid");
  check_same_notes(merged, back);
  CHECK(back.track_count == 3);  // tempo track and the instrument twice
}

TEST_CASE("midi: gaps longer than a delta time can hold are bridged") {
  Score s;
  s.ticks_per_quarter = 30000;
  Note n;
  n.start_tick = 0x0FFFFFFF + 1000;  // about 9000 quarters in: more than 28 bits of ticks
  n.duration_ticks = 0x0FFFFFFF + 5;
  s.notes = {n};
  const Score back = read_midi(write_midi(s), "long.mid");
  REQUIRE(back.notes.size() == 1);
  CHECK(back.notes[0].start_tick == n.start_tick);
  CHECK(back.notes[0].duration_ticks == n.duration_ticks);
}
