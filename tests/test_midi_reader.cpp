// The Standard MIDI File reader against files built byte by byte: every feature, every fault.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "midi/loader.h"
#include "midi/reader.h"
#include "test_midi_bytes.h"

using namespace legato::midi;
using midi_test::Bytes;
using midi_test::smf;
using midi_test::Track;

namespace {
Score read(const Bytes& b, const ReadOptions& o = {}) { return read_midi(b, "test.mid", o); }

// The strict reader's MidiError message for bytes that must fail; fails the test if they read
// fine. (The lenient reader salvages some of them: test_midi_salvage.cpp.)
std::string error_of(const Bytes& b, size_t* offset = nullptr) {
  ReadOptions strict;
  strict.strict = true;
  try {
    read(b, strict);
  } catch (const MidiError& e) {
    if (offset) *offset = e.offset();
    return e.what();
  }
  FAIL("the malformed file was read without an error");
  return "";
}

// A small valid format-1 file: tempo track and one piano track.
Bytes valid_file() {
  Track conductor, piano;
  conductor.tempo(0, 600000).end();
  piano.program(0, 0, 0).on(0, 0, 60).on(0, 0, 64).off(96, 0, 60).off(0, 0, 64).on(0, 0, 67).off(48, 0, 67).end();
  return smf(1, 96, {conductor, piano});
}
}  // namespace

TEST_CASE("midi: format 0 note gives pitch, velocity and times in ticks, quarters and seconds") {
  Track t;
  t.on(96, 0, 61, 90).off(48, 0, 61).end();
  const Score s = read(smf(0, 96, {t}));
  CHECK(s.format == 0);
  CHECK(s.ticks_per_quarter == 96);
  REQUIRE(s.notes.size() == 1);
  const Note& n = s.notes[0];
  CHECK(n.pitch == 61);
  CHECK(n.velocity == 90);
  CHECK(n.start_tick == 96);
  CHECK(n.duration_ticks == 48);
  CHECK(n.start_quarters == doctest::Approx(1.0));
  CHECK(n.duration_quarters == doctest::Approx(0.5));
  CHECK(n.start_seconds == doctest::Approx(0.5));  // 120 bpm by default
  CHECK(n.duration_seconds == doctest::Approx(0.25));
  CHECK(n.track == 0);
}

TEST_CASE("midi: format 1 tempo map merges tempo changes from any track") {
  Track conductor, music;
  conductor.tempo(0, 1000000).end();  // 60 bpm
  // A tempo change on the music track at beat 2: 120 bpm from there on.
  music.on(0, 0, 60).tempo(192, 500000).off(0, 0, 60).on(192, 0, 62).off(96, 0, 62).end();
  const Score s = read(smf(1, 96, {conductor, music}));
  REQUIRE(s.tempo_map.size() == 2);
  CHECK(s.tempo_map[1].tick == 192);
  CHECK(s.tempo_map[1].seconds == doctest::Approx(2.0));
  CHECK(s.tempo_map[1].bpm() == doctest::Approx(120.0));
  REQUIRE(s.notes.size() == 2);
  CHECK(s.notes[0].duration_seconds == doctest::Approx(2.0));
  CHECK(s.notes[1].start_seconds == doctest::Approx(3.0));  // 2 s, then 2 beats at 0.5 s
  CHECK(s.notes[1].duration_seconds == doctest::Approx(0.5));
  CHECK(s.notes[1].track == 1);
}

TEST_CASE("midi: format 2 tracks are all read") {
  Track a, b;
  a.on(0, 0, 60).off(10, 0, 60).end();
  b.on(5, 1, 70).off(10, 1, 70).end();
  const Score s = read(smf(2, 480, {a, b}));
  CHECK(s.format == 2);
  REQUIRE(s.notes.size() == 2);
  CHECK(s.notes[0].pitch == 60);
  CHECK(s.notes[1].pitch == 70);
  CHECK(s.notes[1].channel == 1);
}

TEST_CASE("midi: SMPTE division counts seconds directly") {
  Track t;
  t.on(500, 0, 60).off(250, 0, 60).end();
  const uint16_t division = uint16_t((uint8_t(-25) << 8) | 40);  // 25 frames/s, 40 ticks/frame
  const Score s = read(smf(0, division, {t}));
  CHECK(s.smpte);
  CHECK(s.smpte_ticks_per_second == 1000);
  REQUIRE(s.notes.size() == 1);
  CHECK(s.notes[0].start_seconds == doctest::Approx(0.5));
  CHECK(s.notes[0].duration_seconds == doctest::Approx(0.25));
  CHECK(s.notes[0].start_quarters == doctest::Approx(1.0));  // a quarter is fixed at 0.5 s
}

TEST_CASE("midi: running status, also across meta events, and note-on velocity 0 as note-off") {
  Track t;
  t.raw(0, {0x90, 60, 100})  // status
      .raw(0, {64, 100})     // running status: another note-on
      .meta(0, 0x01, {'h', 'i'})
      .raw(10, {60, 0})  // still note-on status, velocity 0: ends 60
      .raw(5, {64, 0})
      .end();
  const Score s = read(smf(0, 96, {t}));
  REQUIRE(s.notes.size() == 2);
  CHECK(s.notes[0].pitch == 60);
  CHECK(s.notes[0].duration_ticks == 10);
  CHECK(s.notes[1].pitch == 64);
  CHECK(s.notes[1].duration_ticks == 15);
}

TEST_CASE("midi: with music21's pairing, repeated and overlapping notes of one pitch pair first-in first-out") {
  Track t;
  t.on(0, 0, 60, 10)
      .on(10, 0, 60, 20)
      .off(10, 0, 60)
      .off(10, 0, 60)  // two overlapping C4s
      .on(0, 0, 60, 30)
      .off(5, 0, 60)  // struck again at once
      .off(5, 0, 60)  // stray note-off: ignored
      .on(0, 0, 62)
      .end(7);  // never released
  ReadOptions fifo;
  fifo.pairing = NotePairing::fifo;
  const Score s = read(smf(0, 96, {t}), fifo);
  REQUIRE(s.notes.size() == 3);
  CHECK(s.notes[0].start_tick == 0);
  CHECK(s.notes[0].duration_ticks == 20);
  CHECK(s.notes[0].velocity == 10);
  CHECK(s.notes[1].start_tick == 10);
  CHECK(s.notes[1].duration_ticks == 20);
  CHECK(s.notes[1].velocity == 20);
  CHECK(s.notes[2].start_tick == 30);
  CHECK(s.notes[2].duration_ticks == 5);
  CHECK(s.unreleased_notes == 1);  // the 62: dropped, as music21 does
}

TEST_CASE("midi: time and key signatures") {
  Track t;
  t.meta(0, 0x58, {3, 2, 24, 8}).meta(0, 0x59, {uint8_t(-3), 1}).meta(384, 0x58, {6, 3, 36, 8}).end();
  const Score s = read(smf(0, 96, {t}));
  REQUIRE(s.time_signatures.size() == 2);
  CHECK(s.time_signatures[0].numerator == 3);
  CHECK(s.time_signatures[0].denominator == 4);
  CHECK(s.time_signatures[1].tick == 384);
  CHECK(s.time_signatures[1].numerator == 6);
  CHECK(s.time_signatures[1].denominator == 8);
  REQUIRE(s.key_signatures.size() == 1);
  CHECK(s.key_signatures[0].sharps == -3);
  CHECK(s.key_signatures[0].minor);
}

TEST_CASE("midi: programs per channel on all 16 channels, channel 10 is drums") {
  Track t;
  for (int ch = 0; ch < 16; ++ch) t.program(0, ch, 10 + ch);
  for (int ch = 0; ch < 16; ++ch) t.on(0, ch, 40 + ch);
  t.program(0, 3, 99).on(10, 3, 80);  // a later program change affects later notes only
  for (int ch = 0; ch < 16; ++ch) t.off(0, ch, 40 + ch);
  t.off(5, 3, 80).end();  // not at its own tick: pretty_midi's pairing would drop a zero-length note
  const Score s = read(smf(0, 96, {t}));
  REQUIRE(s.notes.size() == 17);
  CHECK(s.program_changes.size() == 17);
  for (int ch = 0; ch < 16; ++ch) {
    CHECK(s.notes[size_t(ch)].channel == ch);
    CHECK(s.notes[size_t(ch)].program == 10 + ch);
    CHECK(s.notes[size_t(ch)].is_drum() == (ch == 9));
  }
  CHECK(s.notes[16].program == 99);
}

TEST_CASE("midi: sysex, unknown meta events and unknown chunks are skipped") {
  Track t;
  t.raw(0, {0xF0, 0x03, 0x43, 0x12, 0xF7})  // sysex with its length
      .raw(0, {0xF7, 0x02, 0x01, 0x02})     // escape / continuation packet
      .meta(0, 0x7F, {1, 2, 3, 4, 5})       // sequencer-specific
      .meta(0, 0x60, {9, 9})                // a type nobody defined
      .on(0, 0, 60)
      .off(10, 0, 60)
      .end();
  Bytes file = {'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 1, 0, 1, 0, 96};
  const Bytes unknown = midi_test::chunk("XFIH", {1, 2, 3});
  const Bytes track = midi_test::chunk("MTrk", t.body);
  file.insert(file.end(), unknown.begin(), unknown.end());
  file.insert(file.end(), track.begin(), track.end());
  const Score s = read(file);
  REQUIRE(s.notes.size() == 1);
  CHECK(s.notes[0].pitch == 60);
  CHECK(s.notes[0].duration_ticks == 10);
}

TEST_CASE("midi: the sustain pedal optionally extends released notes") {
  Track t;
  t.cc(0, 0, 64, 127)
      .on(0, 0, 60)
      .off(10, 0, 60)  // released under the pedal
      .on(0, 0, 64)
      .off(10, 0, 64)  // also under the pedal...
      .on(5, 0, 64)
      .off(5, 0, 64)     // ...but struck again at 25
      .cc(20, 0, 64, 0)  // pedal up at 50
      .on(0, 0, 67)
      .off(10, 0, 67)  // after the pedal: unchanged
      .end();
  const Bytes file = smf(0, 96, {t});
  const Score plain = read(file);
  REQUIRE(plain.notes.size() == 4);
  CHECK(plain.notes[0].duration_ticks == 10);
  ReadOptions with_pedal;
  with_pedal.sustain_pedal = true;
  const Score pedal = read(file, with_pedal);
  REQUIRE(pedal.notes.size() == 4);
  CHECK(pedal.notes[0].duration_ticks == 50);  // 0 -> pedal up at 50
  CHECK(pedal.notes[1].start_tick == 10);
  CHECK(pedal.notes[1].duration_ticks == 15);  // cut where the same key is struck again
  CHECK(pedal.notes[2].duration_ticks == 25);  // 25 -> 50
  CHECK(pedal.notes[3].duration_ticks == 10);
}

TEST_CASE("midi: strictly read, malformed files throw MidiError naming the file, the offset and the fault") {
  const Bytes good = valid_file();
  REQUIRE_NOTHROW(read(good));
  size_t offset = 0;

  SUBCASE("too short") {
    const std::string e = error_of(Bytes(good.begin(), good.begin() + 10), &offset);
    CHECK(e.find("test.mid") != std::string::npos);
    CHECK(e.find("too short") != std::string::npos);
  }
  SUBCASE("wrong magic") {
    Bytes b = good;
    b[0] = 'R';
    const std::string e = error_of(b, &offset);
    CHECK(offset == 0);
    CHECK(e.find("expected 'MThd'") != std::string::npos);
    CHECK(e.find("test.mid: byte 0:") == 0);
  }
  SUBCASE("truncated inside a track") {
    const std::string e = error_of(Bytes(good.begin(), good.end() - 5), &offset);
    // The second MTrk's length now runs past the end; the error points at that length field.
    const std::string text(good.begin(), good.end());
    CHECK(offset == text.find("MTrk", 20) + 4);
    CHECK(e.find("runs past the end of the file") != std::string::npos);
  }
  SUBCASE("truncated: fewer tracks than declared") {
    Bytes b = smf(1, 96, {Track().end(), Track().end()}, 3);
    b.insert(b.end(), {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});  // room for the 3rd header
    const std::string e = error_of(b);
    CHECK(e.find("expected a track chunk") != std::string::npos);
  }
  SUBCASE("bad variable-length quantity") {
    Track t;
    t.body = {0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x90, 60, 100};
    const std::string e = error_of(smf(0, 96, {t}), &offset);
    CHECK(offset == 22);  // 14-byte header, 8-byte chunk header
    CHECK(e.find("variable-length quantity") != std::string::npos);
  }
  SUBCASE("chunk length past the end") {
    Bytes b = good;
    b[14 + 7] = 0xF0;  // the first track claims 240 bytes
    const std::string e = error_of(b, &offset);
    CHECK(offset == 18);
    CHECK(e.find("runs past the end of the file") != std::string::npos);
  }
  SUBCASE("absurd delta time") {
    Track t;
    t.on(0x0FFFFFFF, 0, 60).off(0, 0, 60).end();
    const std::string e = error_of(smf(0, 96, {t}), &offset);
    CHECK(offset == 22);
    CHECK(e.find("past the limit") != std::string::npos);
  }
  SUBCASE("absurd track count") {
    Bytes b = good;
    b[10] = 0x27;  // 10,000+ tracks declared
    const std::string e = error_of(b, &offset);
    CHECK(offset == 10);
    CHECK(e.find("tracks but only") != std::string::npos);
  }
  SUBCASE("no tracks") {
    Bytes b = good;
    b[10] = b[11] = 0;
    CHECK(error_of(b).find("no tracks") != std::string::npos);
  }
  SUBCASE("garbage after the last track") {
    Bytes b = good;
    b.insert(b.end(), {0xDE, 0xAD, 0xBE, 0xEF, 0x00});
    const std::string e = error_of(b, &offset);
    CHECK(offset == good.size());
    CHECK(e.find("garbage after the last track") != std::string::npos);
  }
  SUBCASE("division of zero") {
    Bytes b = good;
    b[12] = b[13] = 0;
    CHECK(error_of(b).find("division") != std::string::npos);
  }
  SUBCASE("data byte with no running status") {
    Track t;
    t.body = {0x00, 0x40, 0x40};
    const std::string e = error_of(smf(0, 96, {t}), &offset);
    CHECK(offset == 23);
    CHECK(e.find("running status") != std::string::npos);
  }
  SUBCASE("system status byte inside a file") {
    Track t;
    t.body = {0x00, 0xF4};
    CHECK(error_of(smf(0, 96, {t})).find("0xF4") != std::string::npos);
  }
  SUBCASE("meta event longer than its track") {
    Track t;
    t.body = {0x00, 0xFF, 0x01, 0x20, 'a'};
    CHECK(error_of(smf(0, 96, {t})).find("meta event runs past the end of its chunk") != std::string::npos);
  }
  SUBCASE("a cut inside an event") {
    Track t;
    t.body = {0x00, 0x90, 60};
    CHECK(error_of(smf(0, 96, {t})).find("truncated: file ends inside a channel event") != std::string::npos);
  }
  SUBCASE("short tempo event") {
    Track t;
    t.meta(0, 0x51, {7, 0xA1}).end();
    CHECK(error_of(smf(0, 96, {t})).find("tempo meta event has length 2") != std::string::npos);
  }
}

TEST_CASE("midi: every truncation and every single-byte change of a file reads or throws MidiError, in both modes") {
  const Bytes good = valid_file();
  ReadOptions strict;
  strict.strict = true;
  int strict_reads = 0, lenient_reads = 0, strict_errors = 0, repaired = 0, cases = 0;
  auto attempt = [&](const Bytes& b) {
    ++cases;
    try {
      read(b, strict);
      ++strict_reads;
    } catch (const MidiError&) {
      ++strict_errors;
    }
    try {
      const Score s = read(b);
      ++lenient_reads;
      repaired += !s.warnings.empty();
    } catch (const MidiError&) {
    }
  };
  for (size_t n = 0; n < good.size(); ++n) attempt(Bytes(good.begin(), good.begin() + long(n)));
  const int truncations_refused = strict_errors;
  for (size_t i = 0; i < good.size(); ++i)
    for (const uint8_t v : {uint8_t(0x00), uint8_t(0x7F), uint8_t(0x80), uint8_t(0xFF)}) {
      Bytes b = good;
      b[i] = v;
      attempt(b);
    }
  CHECK(truncations_refused == int(good.size()));  // strictly, every truncation fails
  CHECK(strict_reads > 0);
  // Whatever the strict reader reads, the lenient one reads too; it salvages more (every
  // truncation after the first track's header, among others), each time saying so.
  CHECK(lenient_reads >= strict_reads + int(good.size()) / 2);
  CHECK(repaired == lenient_reads - strict_reads);
  MESSAGE(cases << " damaged files: strict reads " << strict_reads << ", lenient reads " << lenient_reads << " ("
                << repaired << " with repairs)");
}

TEST_CASE("midi: loading a folder finds .mid and .midi files recursively, refuses bad ones, and needs the path") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "legato_test_midi_folder";
  fs::remove_all(dir);
  fs::create_directories(dir / "sub");
  auto put = [](const fs::path& p, const Bytes& b) {
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  };
  put(dir / "a.mid", valid_file());
  put(dir / "sub" / "b.MIDI", valid_file());
  put(dir / "broken.mid", Bytes{'M', 'T', 'h', 'd', 0});
  put(dir / "notes.txt", Bytes{'x'});
  std::ostringstream log;
  const LoadResult r = load_midi_files({dir}, log);
  REQUIRE(r.scores.size() == 2);
  CHECK(r.scores[0].path == dir / "a.mid");
  CHECK(r.scores[1].path == dir / "sub" / "b.MIDI");
  CHECK(r.failed == 1);
  CHECK(log.str() == "midi: " + dir.string() +
                         ": 2 files read, 0 repaired, 1 refused (broken.mid: byte 5: truncated: "
                         "5 bytes is too short for a MIDI header), 6 notes kept\n");
  CHECK_THROWS(load_midi_files({dir / "missing"}, log));
  fs::remove_all(dir);
}

TEST_CASE(
    "midi: a file read from disk is read as its bytes are, and a missing file, a folder or an empty file say so") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("legato_test_midi_file_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "folder.mid");
  const Bytes bytes = valid_file();
  std::ofstream(dir / "a.mid", std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  std::ofstream(dir / "empty.mid", std::ios::binary).flush();
  const Score from_disk = read_midi_file(dir / "a.mid"), from_bytes = read(bytes);
  REQUIRE(from_disk.notes.size() == 3);
  REQUIRE(from_disk.notes.size() == from_bytes.notes.size());
  for (size_t k = 0; k < from_bytes.notes.size(); ++k) {
    CHECK(from_disk.notes[k].start_tick == from_bytes.notes[k].start_tick);
    CHECK(from_disk.notes[k].duration_seconds == from_bytes.notes[k].duration_seconds);
  }
  auto message_of = [](const fs::path& p) {
    try {
      read_midi_file(p);
    } catch (const MidiError& e) {
      return std::string(e.what());
    }
    return std::string("read without an error");
  };
  CHECK(message_of(dir / "missing.mid") == (dir / "missing.mid").string() + ": byte 0: no such file");
  CHECK(message_of(dir / "folder.mid") == (dir / "folder.mid").string() + ": byte 0: is a folder, not a file");
  CHECK(message_of(dir / "empty.mid") ==
        (dir / "empty.mid").string() + ": byte 0: truncated: 0 bytes is too short for a MIDI header");
  fs::remove_all(dir);
}

TEST_CASE("midi: notes of two tracks at the same tick come in track order, whether or not every note-on was paired") {
  // Every note paired: the two-track merge; with a note-on never released: the heap's merge.
  for (const bool unpaired : {false, true}) {
    CAPTURE(unpaired);
    Track conductor, right, left;
    conductor.tempo(0, 500000).end();
    right.on(0, 0, 72).off(96, 0, 72).on(0, 0, 74).off(96, 0, 74);
    left.on(0, 1, 48).off(96, 1, 48).on(0, 1, 50).off(48, 1, 50).on(0, 1, 52).off(48, 1, 52);
    if (unpaired) left.on(0, 1, 40);
    right.end(), left.end();
    const Score s = read(smf(1, 96, {conductor, right, left}));
    REQUIRE(s.notes.size() == 5);
    const std::vector<std::pair<int, int>> expected = {{72, 1}, {48, 2}, {74, 1}, {50, 2}, {52, 2}};
    for (size_t k = 0; k < expected.size(); ++k) {
      CHECK(s.notes[k].pitch == expected[k].first);
      CHECK(s.notes[k].track == expected[k].second);
    }
    CHECK(s.notes[4].start_seconds == 0.75);  // 144 ticks at 96 per quarter, 0.5 s per quarter
  }
}
