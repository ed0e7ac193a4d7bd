// Right and left hand for composed piano pieces (midi/hands.h): which notes each hand gets, what
// is left alone, and what the split changes in the file and in MGEval's per-part features.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "eval/features.h"
#include "midi/hands.h"
#include "midi/reader.h"
#include "midi/writer.h"
#include "score_builder.h"

using namespace legato;
using legato::testing::make_note;

namespace {

std::vector<int> pitches_on(const midi::Score& score, int channel) {
  std::vector<int> out;
  for (const midi::Note& n : score.notes)
    if (n.channel == channel) out.push_back(n.pitch);
  return out;
}

// A melody of eighths around C5 over a bass of quarters around C3, the bass struck between the
// melody's notes (never with them), as one part: what the tokenizers give back.
midi::Score melody_over_bass() {
  midi::Score score;
  score.ticks_per_quarter = 480;
  score.track_count = 1;
  score.program_changes.push_back({0, 0, 0, 0});
  const int melody[8] = {72, 74, 76, 77, 79, 77, 76, 74};
  const int bass[4] = {36, 43, 41, 38};
  for (int k = 0; k < 8; ++k) score.notes.push_back(make_note(melody[k], 480 * k, 240));
  for (int k = 0; k < 4; ++k) score.notes.push_back(make_note(bass[k], 480 * 2 * k + 240, 480));
  std::stable_sort(score.notes.begin(), score.notes.end(),
                   [](const midi::Note& a, const midi::Note& b) { return a.start_tick < b.start_tick; });
  score.update_times();
  return score;
}

}  // namespace

TEST_CASE("split_hands: a melody over a bass becomes a right hand and a left hand") {
  midi::Score score = melody_over_bass();
  CHECK(midi::split_hands(score) == 4);
  CHECK(pitches_on(score, 0) == std::vector<int>{72, 74, 76, 77, 79, 77, 76, 74});
  CHECK(pitches_on(score, 1) == std::vector<int>{36, 43, 41, 38});
  for (const midi::Note& n : score.notes) CHECK(n.track == (n.channel == 1 ? 1 : 0));
  CHECK(score.track_count == 2);
  // The left hand's channel gets the part's program, and the notes stay in Score's order.
  CHECK(std::any_of(score.program_changes.begin(), score.program_changes.end(),
                    [](const midi::ProgramChange& p) { return p.channel == 1 && p.program == 0 && p.track == 1; }));
  CHECK(std::is_sorted(score.notes.begin(), score.notes.end(), [](const midi::Note& a, const midi::Note& b) {
    return a.start_tick != b.start_tick ? a.start_tick < b.start_tick : a.track < b.track;
  }));
}

TEST_CASE("split_hands: notes struck together split at their widest gap when wider than an octave") {
  midi::Score score;
  score.track_count = 1;
  for (int p : {48, 52, 55, 72, 76}) score.notes.push_back(make_note(p, 0, 480));
  // Narrow chords go whole to the hand that played nearer: one low, then one high.
  for (int p : {50, 53, 57}) score.notes.push_back(make_note(p, 480, 480));
  for (int p : {71, 74, 79}) score.notes.push_back(make_note(p, 960, 480));
  score.update_times();
  CHECK(midi::split_hands(score) == 6);
  CHECK(pitches_on(score, 0) == std::vector<int>{72, 76, 71, 74, 79});
  CHECK(pitches_on(score, 1) == std::vector<int>{48, 52, 55, 50, 53, 57});
}

TEST_CASE("split_hands: one line stays in one hand as it moves; drums, other instruments and full channels are left") {
  SUBCASE("a melody walking down from C5 to G3 in steps") {
    midi::Score score;
    score.track_count = 1;
    int k = 0;
    for (int p = 72; p >= 55; --p, ++k) score.notes.push_back(make_note(p, 240 * k, 240));
    score.update_times();
    CHECK(midi::split_hands(score) == 0);
    CHECK(pitches_on(score, 0).size() == 18);
  }
  SUBCASE("drums and a violin are not piano parts") {
    midi::Score score = melody_over_bass();
    for (midi::Note& n : score.notes) n.program = 40;
    score.notes.push_back(make_note(36, 0, 60, midi::kDrumChannel));
    score.notes.push_back(make_note(80, 240, 60, midi::kDrumChannel));
    const midi::Score before = score;
    CHECK(midi::split_hands(score) == 0);
    for (size_t k = 0; k < score.notes.size(); ++k) CHECK(score.notes[k].channel == before.notes[k].channel);
  }
  SUBCASE("no channel free for a left hand") {
    midi::Score score = melody_over_bass();
    for (int c = 1; c < 16; ++c)
      if (c != midi::kDrumChannel) score.program_changes.push_back({0, 0, c, 0});
    CHECK(midi::split_hands(score) == 0);
    CHECK(pitches_on(score, 0).size() == 12);
  }
}

TEST_CASE("split_hands: the file has a track per hand, and the per-part leaps are the hands' own") {
  const midi::Score one_part = melody_over_bass();
  midi::Score hands = one_part;
  midi::split_hands(hands);
  const midi::Score back = midi::read_midi(midi::write_midi(hands), "hands.mid");
  CHECK(back.track_count == 3);  // the tempo track, then one per hand
  CHECK(pitches_on(back, 0) == pitches_on(hands, 0));
  CHECK(pitches_on(back, 1) == pitches_on(hands, 1));
  // MGEval's average pitch interval, per part: the melody's 12 semitones of steps over its 7
  // intervals and the bass's 7 + 2 + 3 over 3, together 24 over 10; in one part, the leaps
  // between bass and melody count too: 294 semitones over 11 intervals.
  CHECK(eval::features_of(back).average_pitch_interval == doctest::Approx(24.0 / 10));
  CHECK(eval::features_of(one_part).average_pitch_interval == doctest::Approx(294.0 / 11));
  // Nothing else about the music changes.
  CHECK(eval::features_of(back).polyphony_rate == doctest::Approx(eval::features_of(one_part).polyphony_rate));
  CHECK(eval::features_of(back).pitch_class_histogram == eval::features_of(one_part).pitch_class_histogram);
}
