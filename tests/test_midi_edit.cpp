// midi::with_notes (composer --infill's output): a file with some notes replaced keeps every other
// event where it was, and the notes that stay read back exactly as before.
#include <doctest/doctest.h>

#include <algorithm>
#include <tuple>

#include "midi/edit.h"
#include "midi/reader.h"
#include "test_midi_bytes.h"

using namespace legato::midi;

namespace {

auto note_keys(const Score& s) {
  std::vector<std::tuple<int64_t, int64_t, int, int, int, int, int>> keys;
  for (const Note& n : s.notes)
    keys.emplace_back(n.start_tick, n.duration_ticks, n.track, n.channel, n.pitch, n.program, n.velocity);
  std::sort(keys.begin(), keys.end());
  return keys;
}

// Two hands of a piano in two named tracks on one channel, with the sustain pedal, a pitch bend
// and a marker; a tempo track first. The left hand's C3 (48) at tick 960 is held across 1920.
midi_test::Bytes two_hands() {
  midi_test::Track tempo, right, left;
  tempo.tempo(0, 500000).meta(0, 0x06, {'A'}).end(3840);
  right.meta(0, 0x03, {'R', 'H'}).program(0, 0, 0).cc(0, 0, 64, 127);
  for (int k = 0; k < 8; ++k) right.on(k == 0 ? 0 : 240, 0, 72 + k % 3, 90).off(240, 0, 72 + k % 3);
  right.cc(0, 0, 64, 0).raw(0, {0xE0, 0x00, 0x50}).end();  // pedal up, a pitch bend: tick 3840
  left.meta(0, 0x03, {'L', 'H'}).on(0, 0, 48, 70).off(480, 0, 48).on(480, 0, 48, 71).off(1440, 0, 48);
  left.on(0, 0, 43, 60).off(1440, 0, 43).end();
  return midi_test::smf(1, 480, {tempo, right, left});
}

}  // namespace

TEST_CASE("with_notes without an edit writes the file's events back as they were") {
  const midi_test::Bytes file = two_hands();
  std::string why;
  const auto same = with_notes(file, NoteEdit{}, why);
  REQUIRE(same);
  CHECK(*same == file);  // whole events, no running status in it: byte for byte
  // Running status is written out, the events stay.
  midi_test::Track running;
  running.on(0, 0, 60).raw(0, {62, 100}).raw(480, {60, 0}).raw(0, {62, 0}).end();
  const midi_test::Bytes compact = midi_test::smf(0, 96, {running});
  const auto expanded = with_notes(compact, NoteEdit{}, why);
  REQUIRE(expanded);
  CHECK(expanded->size() > compact.size());
  CHECK(note_keys(read_midi(*expanded, "expanded.mid")) == note_keys(read_midi(compact, "compact.mid")));
}

TEST_CASE("with_notes removes the notes asked, adds others, and keeps the rest of the file") {
  const midi_test::Bytes file = two_hands();
  const Score before = read_midi(file, "two_hands.mid");
  REQUIRE(before.warnings.empty());
  const auto in_gap = [](int64_t tick) { return tick >= 1920 && tick < 2880; };  // bars 2-3 of 4/4 at 480
  NoteEdit edit;
  edit.removed = [&](int, int, int, int64_t tick) { return in_gap(tick); };
  Note added;
  added.pitch = 77, added.velocity = 99, added.channel = 0, added.program = 0, added.track = 1;
  added.start_tick = 1920, added.duration_ticks = 480;
  edit.added = {added};
  added.pitch = 50, added.track = 2, added.start_tick = 2400;
  edit.added.push_back(added);
  std::string why;
  const auto out = with_notes(file, edit, why);
  REQUIRE(out);
  const Score after = read_midi(*out, "edited.mid");
  CHECK(after.warnings.empty());
  Score expected = before;
  std::erase_if(expected.notes, [&](const Note& n) { return in_gap(n.start_tick); });
  for (const Note& n : edit.added) expected.notes.push_back(n);
  CHECK(note_keys(after) == note_keys(expected));
  CHECK(midi_test::other_events(*out) ==
        midi_test::other_events(file));  // names, pedal, bend, marker, tempo: all where they were
  // The C3 held across the gap's start (960-2400) stays whole.
  CHECK(std::count_if(after.notes.begin(), after.notes.end(), [](const Note& n) {
          return n.pitch == 48 && n.start_tick == 960 && n.duration_ticks == 1440;
        }) == 1);
}

TEST_CASE("with_notes keeps a note-off that ends a note that stays, and a channel's programs") {
  // One channel playing two programs by switching between notes (as some game music does): 3 at
  // tick 0's first note, 0 after it; the note-off at 960 ends both C4s, one of which goes.
  midi_test::Track t;
  t.program(0, 0, 3).on(0, 0, 60).program(0, 0, 0).on(0, 0, 64).on(480, 0, 60).off(480, 0, 60).off(0, 0, 64);
  t.on(480, 0, 67).off(480, 0, 67).end();
  const midi_test::Bytes file = midi_test::smf(0, 480, {t});
  const Score before = read_midi(file, "programs.mid");
  REQUIRE(before.notes.size() == 4);
  NoteEdit edit;
  edit.removed = [](int, int, int pitch, int64_t tick) { return pitch == 60 && tick == 480; };
  Note added;
  added.pitch = 62, added.velocity = 80, added.channel = 0, added.program = 3, added.track = 0;
  added.start_tick = 1440, added.duration_ticks = 240;  // where program 0 is in force
  edit.added = {added};
  std::string why;
  const auto out = with_notes(file, edit, why);
  REQUIRE(out);
  const Score after = read_midi(*out, "edited.mid");
  Score expected = before;
  std::erase_if(expected.notes, [](const Note& n) { return n.pitch == 60 && n.start_tick == 480; });
  expected.notes.push_back(added);
  CHECK(note_keys(after) == note_keys(expected));  // the first C4 still ends at 960; the new D4 plays program 3
  // The G4 after it still plays program 0: the channel is switched back.
  CHECK(std::find_if(after.notes.begin(), after.notes.end(), [](const Note& n) { return n.pitch == 67; })->program ==
        0);
}

TEST_CASE("with_notes declines a damaged file and refuses a note of no track") {
  const midi_test::Bytes file = two_hands();
  std::string why;
  CHECK_FALSE(with_notes(midi_test::cut_short(file, 3), NoteEdit{}, why));
  CHECK(why.find("end") != std::string::npos);
  why.clear();
  CHECK_FALSE(
      with_notes(midi_test::smf(1, 480, {midi_test::Track{}.on(0, 0, 60).off(10, 0, 60).end()}, 2), NoteEdit{}, why));
  CHECK(why.find("header says 2 tracks") != std::string::npos);
  midi_test::Track system;
  system.raw(0, {0xF2, 0, 0}).end();  // a system message inside a track, which the reader skips with a warning
  CHECK_FALSE(with_notes(midi_test::smf(0, 480, {system}), NoteEdit{}, why));
  NoteEdit stray;
  stray.added = {Note{}};
  stray.added[0].track = 3, stray.added[0].duration_ticks = 10;
  CHECK_THROWS_AS(with_notes(file, stray, why), std::invalid_argument);
}
