// The positions in the beat where a piece strikes (model/onset_grid.h, docs/infill.md "Keeping to
// the piece's grid"): their shares, and the shifts that would land elsewhere held back.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <string>
#include <vector>

#include "midi/grammar.h"
#include "model/composition.h"
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

TEST_CASE("onset grid: a piece being composed keeps to its notes' positions and its beat's subdivisions") {
  // Tokens: 2-7 shifts of 1-6 grid steps, 8 P0, 9 N60, 10 D3.
  const std::vector<std::string> vocab = {"BOS", "EOS", "T1", "T2", "T3", "T4", "T5", "T6", "P0", "N60", "D3"};
  midi::EventGrammar g(vocab, {});
  model::RunningGrid grid(1);
  REQUIRE(grid.active());
  CHECK_FALSE(model::RunningGrid().active());
  const auto feed = [](midi::EventGrammar& to, model::RunningGrid& counts, std::initializer_list<int32_t> tokens) {
    for (const int32_t t : tokens) to.feed(t), counts.feed(t, to);
  };
  const std::vector<float> before(vocab.size(), 0.5f);
  const auto biased = [&](const model::RunningGrid& counts, const midi::EventGrammar& at) {
    std::vector<float> z = before;
    counts.bias(z.data(), static_cast<int64_t>(z.size()), at);
    return z;
  };
  const auto lowered = [&](const std::vector<float>& z, size_t id) { return std::exp(double(z[id] - before[id])); };
  // A piece played a step late: two notes on its beat (position 1) and one an eighth after it (7).
  feed(g, grid, {0, 8, 2});                                                // BOS P0 T1
  for (int k = 0; k < 5; ++k) feed(g, grid, {9, 10, 9, 10, 7, 9, 10, 7});  // N N T6 N T6
  CHECK(biased(grid, g) == before);                                        // 15 onsets tell no grid yet
  feed(g, grid, {9, 10});                                                  // the 16th, on the beat (position 1)
  const std::vector<float> z = biased(grid, g);
  CHECK(lowered(z, 2) == doctest::Approx(1e-6));  // T1 lands on 2: a step after the beat
  CHECK(lowered(z, 3) == doctest::Approx(1e-6));  // T2 on 3: the sixteenth of a beat on 0, not of this one
  CHECK(z[4] == before[4]);                       // T3 on 4: this beat's sixteenth, never struck yet
  CHECK(z[5] == before[5]);                       // T4 on 5: its triplet
  CHECK(lowered(z, 6) == doctest::Approx(1e-6));  // T5 on 6
  CHECK(z[7] == before[7]);                       // T6 on 7: its eighth, struck
  for (const size_t other : {0, 1, 8, 9, 10}) CHECK(z[other] == before[other]);
  // A position struck in at least 1% of the onsets is kept too, off the beat's subdivisions; at half
  // strength the others keep half their probability.
  midi::EventGrammar h(vocab, {});
  model::RunningGrid half(0.5);
  feed(h, half, {0, 8});
  for (int k = 0; k < 15; ++k) feed(h, half, {9, 10});  // 15 onsets on the beat (position 0)
  feed(h, half, {3, 9, 10, 7, 5});                      // T2 N: one on position 2; T6 T4: back on the beat
  const std::vector<float> w = biased(half, h);
  CHECK(w[3] == before[3]);                                            // T2 on 2: struck once in 16
  CHECK(lowered(w, 2) == doctest::Approx(0.5));                        // T1 on 1
  CHECK(lowered(w, 6) == doctest::Approx(0.5));                        // T5 on 5
  for (const size_t kept : {4, 5, 7}) CHECK(w[kept] == before[kept]);  // T3, T4, T6: the beat's subdivisions
}

TEST_CASE("onset grid: the doors compose with it unless a key or a density is asked, which stands over it") {
  model::ControlRequest asked;
  CHECK(model::grid_strength_for(asked) == model::kDefaultGridStrength);
  asked.style = "classical";
  CHECK(model::grid_strength_for(asked) == model::kDefaultGridStrength);
  asked.density = "low";
  CHECK(model::grid_strength_for(asked) == 0);
  asked.density.clear(), asked.key = "D minor";
  CHECK(model::grid_strength_for(asked) == 0);
}
