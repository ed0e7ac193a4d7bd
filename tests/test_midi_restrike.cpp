// A key struck again while it sounds (midi/restrike.h): composed pieces are written with one track
// per instrument.
#include <doctest/doctest.h>

#include "midi/reader.h"
#include "midi/restrike.h"
#include "midi/writer.h"
#include "model/composition.h"
#include "score_builder.h"

using namespace legato::midi;
using legato::testing::make_note;

TEST_CASE("restrike: a note still sounding when its key is struck again ends at the new strike") {
  Score s;
  s.notes = {make_note(60, 0, 960),
             make_note(60, 480, 480),
             make_note(64, 240, 960),
             make_note(60, 240, 960, 1),  // another channel: its own key
             make_note(38, 0, 480, kDrumChannel),
             make_note(38, 120, 60, kDrumChannel)};
  s.update_times();
  CHECK(end_restruck_notes(s) == 2);
  REQUIRE(s.notes.size() == 6);
  CHECK(s.notes[0].duration_ticks == 480);  // C4 until the second C4
  CHECK(s.notes[1].duration_ticks == 480);
  CHECK(s.notes[2].duration_ticks == 960);                     // E4: no other E4
  CHECK(s.notes[3].duration_ticks == 960);                     // C4 on channel 2 is another instrument's key
  CHECK(s.notes[4].duration_ticks == 120);                     // the snare's long hit ends at the next hit
  CHECK(s.notes[0].duration_seconds == doctest::Approx(0.5));  // times follow the ticks
  CHECK(end_restruck_notes(s) == 0);                           // nothing left to end
}

TEST_CASE("restrike: a key struck twice at once sounds once, for the longer") {
  Score s;
  s.notes = {make_note(60, 0, 240), make_note(60, 0, 960), make_note(60, 480, 240)};
  s.update_times();
  CHECK(end_restruck_notes(s) == 2);  // the duplicate dropped, the kept one ended at 480
  REQUIRE(s.notes.size() == 2);
  CHECK(s.notes[0].start_tick == 0);
  CHECK(s.notes[0].duration_ticks == 480);
  CHECK(s.notes[1].start_tick == 480);
}

TEST_CASE("restrike: after it the writer needs one track per instrument") {
  Score s;
  for (int k = 0; k < 16; ++k) {  // a hi-hat and a bass line whose notes outlast their next strike
    s.notes.push_back(make_note(42, 120 * k, 480, kDrumChannel));
    s.notes.push_back(make_note(40 + k % 2, 240 * k, 720, 1, 33));
  }
  s.update_times();
  CHECK(read_midi(write_midi(s), "overlapping.mid").track_count > 3);  // several tracks per instrument
  end_restruck_notes(s);
  const Score back = read_midi(write_midi(s), "restruck.mid");
  CHECK(back.track_count == 3);  // the tempo track, the drums and the bass
  CHECK(back.notes.size() == s.notes.size());
}

TEST_CASE("restrike: a composed piece's key struck again ends its earlier note") {
  // N60 D12 (a C4 three quarters long), four steps later N60 D4 again: the first C4 ends there.
  const std::vector<std::string> vocab = {"BOS", "N60", "D12", "T4", "D4"};
  const Score s = legato::model::score_of("event", vocab, {1, 2, 3, 1, 4}, 0, 0);
  REQUIRE(s.notes.size() == 2);
  CHECK(s.notes[0].end_tick() == s.notes[1].start_tick);
  CHECK(s.notes[1].start_tick > 0);
}
