// The lenient reader against damage built byte by byte: what it salvages is the undamaged file's
// notes minus exactly what the damage destroyed, each repair is one warning naming the byte, and
// the strict reader refuses the same bytes with the message a validating reader always gave.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "midi/loader.h"
#include "midi/reader.h"
#include "test_midi_bytes.h"

using namespace legato::midi;
using namespace midi_test;

namespace {
using NoteKey = std::tuple<int64_t, int64_t, int, int, int, int>;  // start, length, pitch, channel, velocity, track

std::vector<NoteKey> keys(const Score& s) {
  std::vector<NoteKey> out;
  for (const Note& n : s.notes)
    out.emplace_back(n.start_tick, n.duration_ticks, n.pitch, n.channel, n.velocity, n.track);
  return out;
}

Score lenient(const Bytes& b, NotePairing pairing = NotePairing::pretty_midi) {
  ReadOptions o;
  o.pairing = pairing;
  return read_midi(b, "test.mid", o);
}

// The strict reader's message for bytes it must refuse ("" if it read them).
std::string strict_error(const Bytes& b) {
  ReadOptions o;
  o.strict = true;
  try {
    read_midi(b, "test.mid", o);
  } catch (const MidiError& e) {
    return e.what();
  }
  return "";
}

// A tempo track and a piano track: C4 and E4 from 0 to 96, G4 from 96, a controller at 120,
// G4's release at 144, then the end of the track.
Bytes two_tracks() {
  Track conductor, piano;
  conductor.tempo(0, 600000).end();
  piano.on(0, 0, 60).on(0, 0, 64).off(96, 0, 60).off(0, 0, 64).on(0, 0, 67).cc(24, 0, 7, 100).off(24, 0, 67).end();
  return smf(1, 96, {conductor, piano});
}
const std::vector<NoteKey> kTwoTracksNotes = {{0, 96, 60, 0, 100, 1}, {0, 96, 64, 0, 100, 1}, {96, 48, 67, 0, 100, 1}};

// The one warning of a repaired file; fails the test unless there is exactly one.
MidiWarning only_warning(const Score& s) {
  REQUIRE(s.warnings.size() == 1);
  INFO(s.warnings[0].message());
  CHECK(s.warnings[0].file == "test.mid");
  return s.warnings[0];
}
}  // namespace

TEST_CASE("midi salvage: the undamaged file reads alike in both modes, with no warning") {
  const Score s = lenient(two_tracks());
  CHECK(keys(s) == kTwoTracksNotes);
  CHECK(s.warnings.empty());
  CHECK(strict_error(two_tracks()).empty());
}

TEST_CASE("midi salvage: data after the last track is ignored with a warning") {
  const Bytes good = two_tracks();
  for (const Bytes& extra : {Bytes{0x00}, Bytes{0xDE, 0xAD, 0xBE, 0xEF, 0x00}, Bytes{'M', 'T', 'r', 'k', 0, 0, 0, 9}}) {
    const Bytes damaged = with_trailing(good, extra);
    const Score s = lenient(damaged);
    CHECK(keys(s) == kTwoTracksNotes);
    const MidiWarning w = only_warning(s);
    CHECK(w.offset == good.size());
    CHECK(w.what == "ignored " + std::to_string(extra.size()) + (extra.size() == 1 ? " byte" : " bytes") +
                        " after the last track (not a chunk)");
    CHECK(strict_error(damaged) == "test.mid: byte " + std::to_string(good.size()) +
                                       ": garbage after the last track (" + std::to_string(extra.size()) + " bytes)");
  }
}

TEST_CASE("midi salvage: a file cut short is read to its end, the cut event dropped, sounding notes closed") {
  const Bytes good = two_tracks();
  const size_t piano_length_at = track_at(good, 1) + 4;
  SUBCASE("cut inside G4's release: G4 ends at the last whole event, the controller at 120") {
    const Bytes damaged = cut_short(good, 6);  // the end of track (4 bytes) and half of the note-off
    const Score s = lenient(damaged);
    CHECK(keys(s) == std::vector<NoteKey>{{0, 96, 60, 0, 100, 1}, {0, 96, 64, 0, 100, 1}, {96, 24, 67, 0, 100, 1}});
    const MidiWarning w = only_warning(s);
    CHECK(w.offset == piano_length_at);
    CHECK(w.what ==
          "track chunk length 32 runs past the end of the file (26 bytes left): read to the end, dropped the "
          "event cut off at byte " +
              std::to_string(good.size() - 8) + ", closed 1 note still sounding there");
    CHECK(strict_error(damaged) == "test.mid: byte " + std::to_string(piano_length_at) +
                                       ": chunk 'MTrk' length 32 runs past the end of the file (26 bytes left)");
  }
  SUBCASE("one byte short: only the end-of-track event is lost") {
    const Bytes damaged = cut_short(good, 1);
    const Score s = lenient(damaged);
    CHECK(keys(s) == kTwoTracksNotes);
    const MidiWarning w = only_warning(s);
    CHECK(w.offset == piano_length_at);
    CHECK(w.what.find("dropped the event cut off at byte " + std::to_string(good.size() - 4) + ", closed 0 notes") !=
          std::string::npos);
    CHECK(strict_error(damaged) == "test.mid: byte " + std::to_string(piano_length_at) +
                                       ": chunk 'MTrk' length 32 runs past the end of the file (31 bytes left)");
  }
  SUBCASE("cut inside the first track: its notes stay, the missing track is named") {
    Track piano, conductor;
    piano.on(0, 0, 60).off(96, 0, 60).on(0, 0, 62).end(10);
    conductor.tempo(0, 600000).end();
    const Bytes whole = smf(1, 96, {piano, conductor});
    // Without the conductor and with the end-of-track event cut after its delta time: the cut
    // event's time goes with it, so D4 began where the track now ends, has no length and is
    // dropped as never released.
    const Bytes damaged = cut_short(whole, 8 + 11 + 3);
    const Score s = lenient(damaged);
    CHECK(keys(s) == std::vector<NoteKey>{{0, 96, 60, 0, 100, 0}});
    CHECK(s.unreleased_notes == 1);
    CHECK(s.track_count == 1);
    CHECK(only_warning(s).what.find("the other 1 declared track are missing") != std::string::npos);
  }
}

TEST_CASE("midi salvage: system messages inside a track are skipped with their data bytes, keeping running status") {
  // Running status across the system message: a wrong count of data bytes would misread the
  // notes that follow it.
  auto file = [](const std::vector<uint8_t>& system) {
    Track t;
    t.on(0, 0, 60);
    if (!system.empty()) {
      t.body.push_back(0);  // its delta time
      t.body.insert(t.body.end(), system.begin(), system.end());
    }
    t.raw(0, {64, 90}).raw(48, {60, 0}).raw(0, {64, 0}).end();
    return smf(0, 96, {t});
  };
  const std::vector<NoteKey> expected = {{0, 48, 60, 0, 100, 0}, {0, 48, 64, 0, 90, 0}};
  REQUIRE(keys(lenient(file({}))) == expected);
  const size_t system_at = 14 + 8 + 4 + 1;  // header, chunk header, the note-on, a delta time
  const std::vector<std::vector<uint8_t>> messages = {{0xF1, 0x12}, {0xF2, 0x01, 0x02},
                                                      {0xF3, 0x05}, {0xF4},
                                                      {0xF5},       {0xF6},
                                                      {0xF8},       {0xF9},
                                                      {0xFA},       {0xFB},
                                                      {0xFC},       {0xFD},
                                                      {0xFE}};
  for (const auto& m : messages) {
    const Bytes damaged = file(m);
    CAPTURE(int(m[0]));
    const Score s = lenient(damaged);
    CHECK(keys(s) == expected);
    const MidiWarning w = only_warning(s);
    CHECK(w.offset == system_at);
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", m[0]);
    CHECK(w.what == std::string("skipped 1 system message (") + hex +
                        ") that a file may not hold, with their data bytes, keeping running status");
    CHECK(strict_error(damaged) ==
          "test.mid: byte " + std::to_string(system_at) + ": status byte " + hex + " is not allowed in a MIDI file");
  }
}

TEST_CASE("midi salvage: several system messages in one track are one repair") {
  Track t;
  t.on(0, 0, 60).raw(0, {0xF8}).raw(0, {0xF8}).raw(10, {0xFE}).off(38, 0, 60).end();
  const Score s = lenient(smf(0, 96, {t}));
  CHECK(keys(s) == std::vector<NoteKey>{{0, 48, 60, 0, 100, 0}});
  CHECK(only_warning(s).what.find("skipped 3 system messages (0xF8 first)") == 0);
}

TEST_CASE("midi salvage: a chunk length that disagrees with its end-of-track event") {
  const Bytes good = two_tracks();
  SUBCASE("too long: the end-of-track event is trusted where the next track starts after it") {
    const Bytes damaged = with_track_length(good, 0, +3);
    const Score s = lenient(damaged);
    CHECK(keys(s) == kTwoTracksNotes);
    const MidiWarning w = only_warning(s);
    CHECK(w.offset == 18);
    CHECK(w.what == "track chunk length 14 runs past its end-of-track event, which ends the track at byte 33");
    CHECK(strict_error(damaged) ==
          "test.mid: byte 40: chunk 'k?\?\?' length 536907836 runs past the end of the file (29 bytes left)");
  }
  SUBCASE("too short: the track is read up to its end-of-track event") {
    const Bytes damaged = with_track_length(good, 0, -3);
    const Score s = lenient(damaged);
    CHECK(keys(s) == kTwoTracksNotes);
    const MidiWarning w = only_warning(s);
    CHECK(w.offset == 18);
    CHECK(w.what == "track chunk length 8 ends before its end-of-track event: read up to that event, at byte 33");
    CHECK(strict_error(damaged) == "test.mid: byte 30: truncated: file ends inside an event");
  }
  SUBCASE("the piano track too short and the file ending after it: the same, at the end of the file") {
    const Bytes damaged = with_track_length(good, 1, -2);
    const Score s = lenient(damaged);
    CHECK(keys(s) == kTwoTracksNotes);
    CHECK(only_warning(s).what ==
          "track chunk length 30 ends before its end-of-track event: read up to that event, at byte 73");
    CHECK(strict_error(damaged) == "test.mid: byte 71: truncated: file ends inside a meta event");
  }
  SUBCASE("junk between the chunks: the reader resynchronises on the next MTrk tag") {
    const Bytes damaged = with_junk_before_track(good, 1, {0x00, 0x01, 0x02, 0x03, 0x04});
    const Score s = lenient(damaged);
    CHECK(keys(s) == kTwoTracksNotes);
    const MidiWarning w = only_warning(s);
    CHECK(w.offset == 33);
    CHECK(w.what ==
          "expected a track chunk, found bytes that are not a chunk name; went on at the next track chunk, at byte 38");
    CHECK(strict_error(damaged) ==
          "test.mid: byte 37: chunk '?\?\?\?' length 72176754 runs past the end of the file (37 bytes left)");
  }
  SUBCASE("no end-of-track event where the length ends: the events inside it are kept, then the next MTrk tag") {
    Track conductor, piano;
    conductor.tempo(0, 600000);  // 7 bytes and no end-of-track event; its length will say 5
    piano.on(0, 0, 60).off(96, 0, 60).end();
    const Bytes damaged = with_track_length(smf(1, 96, {conductor, piano}), 0, -2);
    const Score s = lenient(damaged);
    CHECK(keys(s) == std::vector<NoteKey>{{0, 96, 60, 0, 100, 1}});
    CHECK(s.tempo_map.empty());  // the tempo event was cut by the length: lost
    const MidiWarning w = only_warning(s);
    CHECK(w.offset == 18);
    CHECK(w.what ==
          "track chunk length 5 agrees with neither its events nor the next chunk: kept the events inside it, "
          "dropped the event cut off at byte 22; went on at the next track chunk, at byte 29");
    CHECK(strict_error(damaged) == "test.mid: byte 26: truncated: meta event runs past the end of its chunk");
  }
}

TEST_CASE("midi salvage: what cannot be salvaged is still refused, in both modes") {
  Track t;
  t.body = {0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x90, 60, 100};  // a delta time of five bytes
  CHECK_THROWS_AS(lenient(smf(0, 96, {t})), MidiError);
  CHECK_THROWS_AS(lenient(Bytes{'M', 'T', 'h', 'd', 0}), MidiError);
  Bytes no_track = smf(0, 96, {});
  no_track[11] = 1;  // one track declared, none there
  CHECK_THROWS_WITH_AS(lenient(no_track), "test.mid: byte 14: truncated: expected 1 tracks, found 0", MidiError);
}

TEST_CASE("midi pairing: pretty_midi's rule by default, music21's first-in first-out as an option") {
  SUBCASE("repeated notes of one pitch: one note-off ends every note that began earlier") {
    Track t;
    t.on(0, 0, 60, 10).on(10, 0, 60, 20).off(10, 0, 60).off(10, 0, 60).end();  // on 0, on 10, off 20, off 30
    CHECK(keys(lenient(smf(0, 96, {t}))) == std::vector<NoteKey>{{0, 20, 60, 0, 10, 0}, {10, 10, 60, 0, 20, 0}});
    CHECK(keys(lenient(smf(0, 96, {t}), NotePairing::fifo)) ==
          std::vector<NoteKey>{{0, 20, 60, 0, 10, 0}, {10, 20, 60, 0, 20, 0}});
  }
  SUBCASE("a note-on and a note-off at one tick: the note struck at that tick sounds on") {
    Track t;
    t.on(0, 0, 60, 10).on(10, 0, 60, 20).off(0, 0, 60).off(10, 0, 60).end();  // on 0; on 10, off 10; off 20
    const std::vector<NoteKey> expected = {{0, 10, 60, 0, 10, 0}, {10, 10, 60, 0, 20, 0}};
    CHECK(keys(lenient(smf(0, 96, {t}))) == expected);
    CHECK(keys(lenient(smf(0, 96, {t}), NotePairing::fifo)) == expected);
  }
  SUBCASE("a note ended at its own tick with nothing earlier: pretty_midi drops it, music21 keeps it") {
    Track t;
    t.on(5, 0, 62).off(0, 0, 62).on(0, 0, 64).off(10, 0, 64).end();
    const Score pm = lenient(smf(0, 96, {t}));
    CHECK(keys(pm) == std::vector<NoteKey>{{5, 10, 64, 0, 100, 0}});
    CHECK(pm.zero_length_notes == 1);
    CHECK(keys(lenient(smf(0, 96, {t}), NotePairing::fifo)) ==
          std::vector<NoteKey>{{5, 0, 62, 0, 100, 0}, {5, 10, 64, 0, 100, 0}});
  }
  SUBCASE("pairing is per channel and pitch, and a stray note-off ends nothing") {
    Track t;
    t.on(0, 0, 60).on(0, 1, 60).off(10, 60 - 60, 61).off(0, 0, 60).off(5, 1, 60).end();
    CHECK(keys(lenient(smf(0, 96, {t}))) == std::vector<NoteKey>{{0, 10, 60, 0, 100, 0}, {0, 15, 60, 1, 100, 0}});
  }
}

TEST_CASE("midi: a folder load says in one line what it read, repaired and refused, and why") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "legato_test_midi_summary";
  fs::remove_all(dir);
  fs::create_directories(dir / "sub");
  auto put = [](const fs::path& p, const Bytes& b) {
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  };
  put(dir / "a.mid", two_tracks());
  put(dir / "sub" / "b.MIDI", two_tracks());
  put(dir / "damaged.mid", with_trailing(two_tracks(), {0xDE, 0xAD}));
  put(dir / "broken.mid", Bytes{'M', 'T', 'h', 'd', 0});
  put(dir / "sub" / "worse.mid", Bytes{'R', 'I', 'F', 'F', 0, 0, 0, 6, 0, 0, 0, 1, 0, 96});
  put(dir / "notes.txt", Bytes{'x'});
  std::ostringstream log;
  const LoadResult r = load_midi_files({dir}, log);
  CHECK(r.scores.size() == 3);
  CHECK(r.failed == 2);
  CHECK(r.repaired == 1);
  CHECK(r.warnings == 1);
  CHECK(r.notes == 9);
  CHECK(log.str() ==
        "midi: " + dir.string() +
            ": 3 files read, 1 repaired (1 warning), 2 refused (broken.mid: byte 5: "
            "truncated: 5 bytes is too short for a MIDI header; sub/worse.mid: byte 0: not a Standard MIDI "
            "File: expected 'MThd', found 'RIFF'), 9 notes kept\n");
  ReadOptions strict;
  strict.strict = true;
  std::ostringstream strict_log;
  CHECK(load_midi_files({dir / "damaged.mid"}, strict_log, strict).failed == 1);
  CHECK(strict_log.str().find(": 0 files read, 0 repaired, 1 refused (damaged.mid: byte ") != std::string::npos);
  fs::remove_all(dir);
}
