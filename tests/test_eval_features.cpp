// The per-piece features (eval/features.h) on MusPy's own unit-test piece, whose values MusPy
// publishes, and on hand-made pieces whose values are known by construction.
#include <doctest/doctest.h>

#include <cmath>

#include "eval/features.h"
#include "midi/tokenizer.h"
#include "score_builder.h"

using namespace legato;
using testing::make_note;

namespace {

// MusPy's test piece (tests/test_metrics.py): resolution 24, nine notes of 6 ticks at 0, 6, ...
midi::Score muspy_piece() {
  midi::Score s;
  s.ticks_per_quarter = 24;
  const int pitches[] = {76, 75, 76, 75, 76, 71, 74, 72, 69};
  for (int k = 0; k < 9; ++k) s.notes.push_back(make_note(pitches[k], 6 * k, 6));
  s.update_times();
  return s;
}

}  // namespace

TEST_CASE("eval: MusPy's published values on its unit-test piece") {
  const eval::Grid g = eval::to_grid(muspy_piece());
  CHECK(eval::n_pitches_used(g) == 6);
  CHECK(eval::n_pitch_classes_used(g) == 6);
  CHECK(eval::pitch_range(g) == 7);
  CHECK(eval::polyphony(g) == 1.0);
  CHECK(eval::polyphony_rate(g) == 0.0);
  CHECK(eval::scale_consistency(g) == doctest::Approx(7.0 / 9).epsilon(1e-15));
  CHECK(eval::groove_consistency(g, 36) == doctest::Approx(11.0 / 12).epsilon(1e-15));
  CHECK(std::abs(eval::pitch_entropy(g) - 2.4193819456463714) < 1e-12);
  CHECK(eval::empty_beat_rate(g) == 0.0);  // 54 steps: beats 0, 1, 2 all sound
  // MGEval's: 8 intervals |-1|,1,1,1,5,3,2,3 and 8 onset gaps of a quarter's quarter.
  CHECK(eval::average_pitch_interval(g) == doctest::Approx(17.0 / 8));
  CHECK(eval::average_ioi(g) == doctest::Approx(0.25));
  CHECK(eval::n_notes(g) == 9);
  // Sixteenths in 4/4: six steps of 96 are MGEval's 16th class (index 4), every note.
  CHECK(eval::note_length_histogram(g)[4] == 1.0);
}

TEST_CASE("eval: chords, drums and rests as the definitions count them") {
  midi::Score s;
  s.ticks_per_quarter = 480;
  // A C major triad for a half note, a rest of two quarters, then E alone; a drum on every beat.
  for (int p : {60, 64, 67}) s.notes.push_back(make_note(p, 0, 960));
  s.notes.push_back(make_note(64, 1920, 480));
  for (int b = 0; b < 5; ++b) s.notes.push_back(make_note(36, 480 * b, 60, midi::kDrumChannel));
  s.update_times();
  const eval::Grid g = eval::to_grid(s);
  CHECK(eval::n_pitches_used(g) == 3);  // the drum's 36 is not a pitch
  CHECK(eval::pitch_range(g) == 7);
  // Three pitches for 48 steps, one for 24: (3*48 + 24) / 72.
  CHECK(eval::polyphony(g) == doctest::Approx(168.0 / 72));
  CHECK(eval::polyphony_rate(g) == doctest::Approx(48.0 / 120));  // 3 > 2 pitches, over all 120 steps
  CHECK(eval::polyphony_rate(g, 3) == 0.0);
  // Duration-weighted: C and G 48 steps each, E 48 + 24.
  const auto h = eval::pitch_class_histogram(g);
  CHECK(h[0] == doctest::Approx(48.0 / 168));
  CHECK(h[4] == doctest::Approx(72.0 / 168));
  CHECK(eval::scale_consistency(g) == 1.0);
  // Drums count for rhythm: 4 pitched + 5 drum notes.
  CHECK(eval::n_notes(g) == 9);
  // The triad ends at step 48; nothing starts within 0.1 quarter of it, E starts at 48 + 48.
  const auto m = eval::pitch_class_transition_matrix(g);
  double total = 0;
  for (double v : m) total += v;
  CHECK(total == 0.0);
}

TEST_CASE("eval: transitions, note lengths and empty beats on a melody with a gap") {
  midi::Score s;
  s.ticks_per_quarter = 96;
  // C D (quarters, legato), a rest of four quarters, E as a dotted quarter.
  s.notes = {make_note(60, 0, 96), make_note(62, 96, 96), make_note(64, 576, 144)};
  s.update_times();
  const eval::Grid g = eval::to_grid(s);
  const auto m = eval::pitch_class_transition_matrix(g);
  CHECK(m[0 * 12 + 2] == 1.0);  // C ends where D starts: the only transition
  const auto lengths = eval::note_length_histogram(g);
  CHECK(lengths[2] == doctest::Approx(2.0 / 3));  // two quarters
  CHECK(lengths[6] == doctest::Approx(1.0 / 3));  // one dotted quarter
  // 180 steps: beats 0..7; notes sound in beats 0, 1, 2 (D ends on beat 2's first step), 6, 7.
  CHECK(eval::empty_beat_rate(g) == doctest::Approx(3.0 / 8));
}

TEST_CASE("eval: transposing a piece rotates its pitch-class histogram and changes no rhythm") {
  midi::Score s;
  s.ticks_per_quarter = 480;
  for (int k = 0; k < 40; ++k)
    s.notes.push_back(make_note(55 + (k * 7) % 19, 240 * k + (k % 3) * 40, 120 + 60 * (k % 4)));
  s.notes.push_back(make_note(42, 0, 100, midi::kDrumChannel));
  s.update_times();
  const auto moved = midi::transpose(s, 5);
  REQUIRE(moved);
  const eval::Features a = eval::features_of(s), b = eval::features_of(*moved);
  for (int pc = 0; pc < 12; ++pc)
    CHECK(b.pitch_class_histogram[(pc + 5) % 12] == doctest::Approx(a.pitch_class_histogram[pc]));
  CHECK(a.pitch_class_histogram != b.pitch_class_histogram);
  CHECK(a.n_notes == b.n_notes);
  CHECK(a.average_ioi == b.average_ioi);
  CHECK(a.note_length_histogram == b.note_length_histogram);
  CHECK(a.empty_beat_rate == b.empty_beat_rate);
  CHECK(a.groove_consistency == b.groove_consistency);
  CHECK(a.polyphony == b.polyphony);
  CHECK(a.polyphony_rate == b.polyphony_rate);
  CHECK(a.pitch_range == b.pitch_range);
  CHECK(a.pitch_entropy == b.pitch_entropy);
}

TEST_CASE("eval: an empty piece has NaN where a value cannot exist, and no crash") {
  const eval::Features f = eval::features_of(midi::Score{});
  CHECK(f.n_notes == 0);
  CHECK(f.pitch_range == 0);
  CHECK(std::isnan(f.pitch_entropy));
  CHECK(std::isnan(f.polyphony));
  CHECK(std::isnan(f.empty_beat_rate));
  CHECK(std::isnan(f.groove_consistency));
  CHECK(std::isnan(f.scale_consistency));
}
