// The rest before a bar line (model/bar_rests.h, docs/infill.md "Resting before the bars after"):
// a piece's bar lines, the rest before each and the interval across it, the hazard they give, and
// the shifts' logits steered by it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "midi/grammar.h"
#include "model/bar_rests.h"
#include "score_builder.h"

using namespace legato;
using legato::testing::make_note;

namespace {

// 480 ticks a quarter (40 a grid step of 12 a quarter). Bar 1 (steps 0-48): onsets at 0 and 36
// (rest 12 before the line at 48); bar 2: 48 and 66 (rest 30); bar 3 (3/4 from tick 3840, steps
// 96-132): 102, with a drum at 130 that does not count (rest 30, the next onset 6 after its line);
// bar 4 (132-168): 132 and 162 (rest 6); bar 5: empty; bar 6: 204.
midi::Score rests_piece() {
  midi::Score s;
  s.ticks_per_quarter = 480;
  for (const int step : {0, 36, 48, 66, 102, 132, 162, 204}) s.notes.push_back(make_note(60, step * 40, 40, 0, 0, 80));
  s.notes.push_back(make_note(38, 130 * 40, 40, midi::kDrumChannel, 0, 100));
  s.time_signatures = {{0, 4, 4}, {3840, 3, 4}};
  std::stable_sort(s.notes.begin(), s.notes.end(), [](auto& a, auto& b) { return a.start_tick < b.start_tick; });
  s.update_times();
  return s;
}

}  // namespace

TEST_CASE("bar rests: bar lines by the time signatures, the rest before each and the onset after it") {
  const midi::Score piece = rests_piece();
  const std::vector<int64_t> lines = model::bar_lines(piece, 240);
  CHECK(lines == std::vector<int64_t>{0, 48, 96, 132, 168, 204, 240});
  const std::vector<model::LineRest> all = model::line_rests(piece, lines, 0, 1000, -1, -1);
  REQUIRE(all.size() == 5);  // the first and the last line have no bar on one side
  using Steps = std::vector<int64_t>;
  CHECK((all[0].line == 48 && all[0].struck == Steps{12, 48} && all[0].rest() == 12 && all[0].next == 0));
  CHECK((all[1].line == 96 && all[1].struck == Steps{30, 48} && all[1].next == 6));
  CHECK((all[2].line == 132 && all[2].struck == Steps{30} && all[2].next == 0));      // the drum at 130 is a sound
  CHECK((all[3].line == 168 && all[3].struck == Steps{6, 36} && all[3].next == -1));  // the bar after is empty
  CHECK((all[4].line == 204 && all[4].struck.empty() && all[4].rest() == 0 && all[4].next == 0));  // and the one before
  // A gap's bars (96-132) inform nothing: the line after its first bar (132) is left out, and the
  // line before it (96) keeps its rest but has no onset after it; so do lines past [from, to).
  const std::vector<model::LineRest> outside = model::line_rests(piece, lines, 0, 1000, 96, 132);
  REQUIRE(outside.size() == 4);
  CHECK((outside[0].line == 48 && outside[1].line == 96 && outside[2].line == 168 && outside[3].line == 204));
  CHECK((outside[1].rest() == 30 && outside[1].next == -1));
  const std::vector<model::LineRest> before = model::line_rests(piece, lines, 0, 96, 96, 132);
  REQUIRE(before.size() == 2);  // before the gap alone: 48 and 96
  CHECK((before[0].next == 0 && before[1].next == -1));

  // Of the lines with an onset before them: where they struck, and which of those were their last.
  const model::RestCounts rests = model::rest_counts(all);
  REQUIRE(rests.struck.size() == 49);
  REQUIRE(rests.last.size() == 49);
  CHECK((rests.struck[12] == 1 && rests.struck[48] == 2 && rests.struck[30] == 2 && rests.struck[6] == 1 &&
         rests.struck[36] == 1));
  CHECK((rests.last[12] == 1 && rests.last[30] == 2 && rests.last[6] == 1));
  CHECK(rests.last[48] + rests.last[36] + rests.struck[0] + rests.struck[1] == 0);
  // The notes after a line 6 steps past it: each line's onsets moved by its own wait for the onset
  // after it less 6 (48: -6, 96: 0, 132: -6); the lines without an onset after them are left out.
  const model::RestCounts into = model::rest_counts(all, 6);
  REQUIRE(into.struck.size() == 49);
  CHECK((into.last[6] == 1 && into.last[30] == 1 && into.last[24] == 1));
  CHECK((into.struck[6] == 1 && into.struck[42] == 1 && into.struck[30] == 1 && into.struck[48] == 1 &&
         into.struck[24] == 1));
  CHECK(into.struck[36] == 0);
  CHECK(model::rest_counts(all, 40).empty());  // every line's last onset would come after the line
}

TEST_CASE("bar rests: the hazard of resting R, from where the piece struck and which were its last") {
  model::RestCounts counts;
  counts.struck.assign(13, 0.0), counts.last.assign(13, 0.0);
  counts.struck[6] = 3, counts.last[6] = 2;    // three lines struck 6 before, two of them last there
  counts.struck[12] = 3, counts.last[12] = 1;  // three struck 12 before, one last there
  counts.struck[9] = 1;                        // one struck 9 before, and went on
  CHECK(model::rest_hazard(counts, 6, 0.5, 1) == doctest::Approx(2.5 / 4));   // (2 + p) / (3 + 1)
  CHECK(model::rest_hazard(counts, 12, 0.5, 1) == doctest::Approx(1.5 / 4));  // (1 + p) / (3 + 1)
  CHECK(model::rest_hazard(counts, 9, 0.5, 1) == doctest::Approx(0.5 / 2));   // never last there: rarer
  CHECK(model::rest_hazard(counts, 10, 0.3, 1) == doctest::Approx(0.3));      // never struck there: p
  CHECK(model::rest_hazard(counts, 48, 0.3, 1) == doctest::Approx(0.3));      // past the counts: p
  // Nearer the line than every rest counted: every line would have been reached by now.
  CHECK(model::rest_hazard(counts, 3, 0.3, 1) == doctest::Approx(3.3 / 4));
  CHECK(model::rest_hazard(counts, 6, 0.5, 0) == doctest::Approx(0.5));  // strength 0: p
  CHECK(model::rest_hazard(counts, 6, 0.5, 0.5) == doctest::Approx(0.5 + 0.5 * (2.5 / 4 - 0.5)));
  CHECK(model::rest_hazard({}, 6, 0.4, 1) == doctest::Approx(0.4));
}

TEST_CASE("bar rests: after a note, the shifts that reach the next line take the hazard's share") {
  const std::vector<std::string> vocab = {"BOS", "EOS", "T1", "T6", "T12", "T48", "P0", "N60", "D3"};
  midi::EventGrammar g(vocab, {});
  for (const int32_t t : {0, 6, 7, 8}) g.feed(t);  // BOS P0 N60 D3: a note at step 0
  model::RestCounts counts;
  counts.struck.assign(13, 0.0), counts.last.assign(13, 0.0);
  counts.struck[12] = counts.last[12] = 3;                    // the piece always rests 12 before its lines
  const model::RestGuide guide({{12, counts}, {24, {}}}, 1);  // a copy of the counts
  REQUIRE(guide.active());
  std::vector<float> z(vocab.size(), 0.0f);
  z[4] = 1.0f;  // the network likes T12 a little more
  const std::vector<float> before = z;
  guide.bias(z.data(), static_cast<int64_t>(z.size()), g, 0);
  const auto e = [&](const std::vector<float>& l, size_t i) { return std::exp(double(l[i])); };
  const double shifts = e(before, 2) + e(before, 3) + e(before, 4) + e(before, 5);
  const double p = (e(before, 4) + e(before, 5)) / shifts;                  // T12 and T48 reach the line 12 steps on
  CHECK(e(z, 2) + e(z, 3) + e(z, 4) + e(z, 5) == doctest::Approx(shifts));  // the shifts' total kept
  CHECK((e(z, 4) + e(z, 5)) / shifts == doctest::Approx((3 + p) / 4));
  CHECK(z[5] == before[5]);  // more to reach the line: T12 lands on it and takes it all; the rest after
                             // the line (T48) stays as the network had it
  CHECK(z[2] == z[3]);       // short of the line, as the network had them
  counts.last[12] = 0, counts.struck[6] = counts.last[6] = 3;  // it strikes 12 before, rests 6: go on
  std::vector<float> y = before;
  model::RestGuide({{12, counts}}, 1).bias(y.data(), static_cast<int64_t>(y.size()), g, 0);
  CHECK((e(y, 4) + e(y, 5)) / shifts == doctest::Approx(p / 4));  // (0 + p) / (3 + 1)
  CHECK(e(y, 2) + e(y, 3) + e(y, 4) + e(y, 5) == doctest::Approx(shifts));
  CHECK(y[4] - y[5] == doctest::Approx(1.0f));                                  // less: all that reach it in proportion
  for (const size_t other : {0, 1, 6, 7, 8}) CHECK(z[other] == before[other]);  // notes and the rest untouched

  std::vector<float> w = before;
  guide.bias(w.data(), static_cast<int64_t>(w.size()), g, -1);  // no note struck now: nothing to decide
  CHECK(w == before);
  midi::EventGrammar later = g;
  later.feed(4);  // T12: now at the line, the next (24) has no counts
  later.feed(7), later.feed(8);
  guide.bias(w.data(), static_cast<int64_t>(w.size()), later, 12);
  CHECK(w == before);
  CHECK_FALSE(model::RestGuide({{12, counts}}, 0).active());
  CHECK_FALSE(model::RestGuide().active());
}
