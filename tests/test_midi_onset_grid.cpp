// The positions in the beat where a piece strikes (model/onset_grid.h, docs/infill.md "Keeping to
// the piece's grid"): their shares, and the shifts that would land elsewhere held back.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "midi/grammar.h"
#include "model/onset_grid.h"
#include "score_builder.h"

using namespace legato;
using legato::testing::make_note;

namespace {

// 480 ticks a quarter (40 a grid step of 12 a quarter). 100 beats of sixteenths on the beat and
// after it (steps 0 and 3 of each beat), drums on the eighths between (step 6), and one stray
// onset a step after a beat (step 49: 1 of 301, under kGridMinShare).
midi::Score sixteenths_piece() {
  midi::Score s;
  s.ticks_per_quarter = 480;
  for (int beat = 0; beat < 100; ++beat) {
    s.notes.push_back(make_note(60, (beat * 12) * 40, 40, 0, 0, 80));
    s.notes.push_back(make_note(64, (beat * 12 + 3) * 40, 40, 0, 0, 80));
    s.notes.push_back(make_note(38, (beat * 12 + 6) * 40, 40, midi::kDrumChannel, 0, 100));
  }
  s.notes.push_back(make_note(67, 49 * 40, 40, 0, 0, 80));
  std::stable_sort(s.notes.begin(), s.notes.end(), [](auto& a, auto& b) { return a.start_tick < b.start_tick; });
  s.update_times();
  return s;
}

}  // namespace

TEST_CASE("onset grid: the share of a piece's onsets at each position in the beat, a gap's left out") {
  const midi::Score piece = sixteenths_piece();
  const std::vector<double> all = model::onset_positions(piece, 0, 1200, -1, -1);
  REQUIRE(all.size() == 12);
  CHECK(all[0] == doctest::Approx(100.0 / 301));
  CHECK(all[3] == doctest::Approx(100.0 / 301));
  CHECK(all[6] == doctest::Approx(100.0 / 301));  // drums strike too
  CHECK(all[1] == doctest::Approx(1.0 / 301));    // the stray onset
  CHECK(all[1] < model::kGridMinShare);
  for (const int off : {2, 4, 5, 7, 8, 9, 10, 11}) CHECK(all[static_cast<size_t>(off)] == 0);
  // Beats 4-99 skipped (steps 48-1200): 4 beats of 3 onsets and the stray one are left.
  CHECK(model::onset_positions(piece, 0, 1200, 48, 1200).empty());                     // 13 onsets tell no grid
  CHECK(model::onset_positions(piece, 0, 1200, 60, 1200).size() == 12);                // 16 do
  const std::vector<double> before = model::onset_positions(piece, 0, 600, 600, 612);  // beats 0-49
  REQUIRE(before.size() == 12);
  CHECK(before[0] == doctest::Approx(50.0 / 151));
  const std::vector<double> outside = model::onset_positions(piece, 0, 1200, 36, 60);  // beats 3 and 4 out
  REQUIRE(outside.size() == 12);
  CHECK(outside[1] == 0);  // the stray onset (49) was in them
  CHECK(outside[0] == doctest::Approx(98.0 / 294));
}

TEST_CASE("onset grid: shifts that land off the piece's positions are held back, the end kept") {
  const std::vector<std::string> vocab = {"BOS", "EOS", "T1", "T2", "T3", "T6", "T12", "P0", "N60", "D3"};
  midi::EventGrammar g(vocab, {});
  for (const int32_t t : {0, 7, 8, 9}) g.feed(t);  // BOS P0 N60 D3: a note at step 0
  std::vector<double> positions(12, 0.0);
  positions[0] = positions[3] = positions[6] = positions[9] = 0.25;  // sixteenths
  positions[1] = 0.005;                                              // under kGridMinShare
  std::vector<float> z(vocab.size(), 0.5f);
  const std::vector<float> before = z;
  model::GridGuide(positions, 1000, 1).bias(z.data(), static_cast<int64_t>(z.size()), g);
  CHECK(std::exp(double(z[2] - before[2])) == doctest::Approx(1e-6));                 // T1 lands on step 1
  CHECK(std::exp(double(z[3] - before[3])) == doctest::Approx(1e-6));                 // T2 on step 2
  for (const size_t kept : {0, 1, 4, 5, 6, 7, 8, 9}) CHECK(z[kept] == before[kept]);  // T3, T6, T12; not shifts
  std::vector<float> half = before;
  model::GridGuide(positions, 1000, 0.5).bias(half.data(), static_cast<int64_t>(half.size()), g);
  CHECK(std::exp(double(half[2] - before[2])) == doctest::Approx(0.5));
  // The middle's end may always be reached, wherever it lies in the beat (here step 2).
  std::vector<float> end = before;
  model::GridGuide(positions, 2, 1).bias(end.data(), static_cast<int64_t>(end.size()), g);
  CHECK(std::exp(double(end[2] - before[2])) == doctest::Approx(1e-6));
  for (const size_t kept : {3, 4, 5, 6}) CHECK(end[kept] == before[kept]);
  // From step 3 on (after T3), T3 lands on 6 and T1 on 4.
  midi::EventGrammar later = g;
  later.feed(4);
  std::vector<float> w = before;
  model::GridGuide(positions, 1000, 1).bias(w.data(), static_cast<int64_t>(w.size()), later);
  CHECK(w[4] == before[4]);
  CHECK(w[2] < before[2]);
  CHECK_FALSE(model::GridGuide(positions, 1000, 0).active());
  CHECK_FALSE(model::GridGuide({}, 1000, 1).active());
  CHECK_FALSE(model::GridGuide().active());
}

TEST_CASE("onset grid: a piece being composed is kept to the positions of its own notes so far") {
  const std::vector<std::string> vocab = {"BOS", "EOS", "T1", "T3", "T6", "P0", "N60", "D3"};
  midi::EventGrammar g(vocab, {});
  model::RunningGrid grid(1);
  REQUIRE(grid.active());
  CHECK_FALSE(model::RunningGrid().active());
  for (const int32_t t : {0, 5}) g.feed(t), grid.feed(t, g);  // BOS P0
  const auto note = [&] {
    for (const int32_t t : {6, 7}) g.feed(t), grid.feed(t, g);  // N60 D3: one onset
  };
  const std::vector<float> before(vocab.size(), 0.5f);
  const auto biased = [&] {
    std::vector<float> z = before;
    grid.bias(z.data(), static_cast<int64_t>(z.size()), g);
    return z;
  };
  for (int k = 0; k < 15; ++k) {  // eighths: positions 0 and 6 of the beat
    note();
    g.feed(4), grid.feed(4, g);  // T6
  }
  CHECK(biased() == before);  // 15 onsets tell no grid yet
  note();                     // the 16th, at step 90 (position 6)
  const std::vector<float> z = biased();
  CHECK(std::exp(double(z[2] - before[2])) == doctest::Approx(1e-6));  // T1: position 7
  CHECK(std::exp(double(z[3] - before[3])) == doctest::Approx(1e-6));  // T3: position 9
  CHECK(z[4] == before[4]);                                            // T6: position 0
  for (const size_t other : {0, 1, 5, 6, 7}) CHECK(z[other] == before[other]);
  g.feed(3), grid.feed(3, g);  // T3 taken anyway: now at position 9, where nothing was struck
  note();
  CHECK(biased()[3] == before[3]);  // T3 from 9 lands on 0
  CHECK(biased()[4] < before[4]);   // T6 from 9 lands on 3
  model::RunningGrid half(0.5);
  std::vector<float> w = before;
  for (int k = 0; k < 16; ++k) half.feed(6, g);  // 16 onsets, all at position 9 (the grammar's now)
  half.bias(w.data(), static_cast<int64_t>(w.size()), g);
  CHECK(std::exp(double(w[2] - before[2])) == doctest::Approx(0.5));  // T1 lands on 10
  CHECK(w[3] < before[3]);                                            // T3 on 0, never struck
  CHECK(w[4] < before[4]);
}
