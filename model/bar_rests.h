#pragma once
// The rest before a bar line (composer --infill-end-rest, docs/infill.md "Resting before the bars
// after"). These networks rest before a bar line less than the pieces they learnt from: the last
// onset of a bar falls in its last half beat in 0.64-0.89 of their bars against 0.48-0.67 of the
// pieces' (bench/results/quality.md, session 13), so new bars ran into the bar after a gap where
// the piece would breathe. The guidance: whenever the middle has just struck a note R grid steps
// before a bar line it is given and is about to move on in time, the probability that it moves to
// or past the line (so that this onset is the bar's last) is set to what the piece's own bar lines
// give: of the bars that struck R steps before their line, the share for which that was the last
// onset, instead of the network's.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "midi/grammar.h"
#include "midi/score.h"

namespace legato::model {

// The grid steps (midi::EventOptions) of `score`'s bar lines from 0 through `to`, and no more than
// `count` of them, by its time signatures (4/4 without one): bar k (from 1) starts at the k-th.
std::vector<int64_t> bar_lines(const midi::Score& score, int64_t to, size_t count = SIZE_MAX);

// What a piece does at one bar line: `struck`, grid steps before the line of each pitched onset of
// the bar before it, nearest first (the first is the bar's rest before the line; empty: the bar has
// none), and `next`, from the line to the first pitched onset at or after it within the next bar
// (-1: none there).
struct LineRest {
  int64_t line = 0;
  std::vector<int64_t> struck;
  int64_t next = -1;
  int64_t rest() const { return struck.empty() ? 0 : struck.front(); }
};

// The rest at each bar line of `lines` (ascending, from bar_lines) whose bar before it lies in
// [from, to) and outside [skip_from, skip_to) (a gap whose notes are to be replaced, so that its own
// notes never inform the guidance); `next` where the bar after it does too (else -1). The first and
// the last line of `lines` have no bar on one side and are left out.
std::vector<LineRest> line_rests(const midi::Score& score, const std::vector<int64_t>& lines, int64_t from, int64_t to,
                                 int64_t skip_from, int64_t skip_to);

// Over bar lines, indexed by R grid steps before the line: `struck`[R], the lines with an onset R
// steps before them, and `last`[R], those whose last onset before them that was.
struct RestCounts {
  std::vector<double> struck, last;
  bool empty() const { return struck.empty(); }
};

// The lines' rests (lines with an onset in the bar before them). `after` >= 0 counts each onset
// where it must be for the onset after the line to come `after` steps after it at the interval the
// line's own onsets had to it (R + next - after; lines without an onset after them, or whose last
// onset would then come at or after the line, are left out): before the gap's end, when the notes
// after the gap begin `after` steps past it.
RestCounts rest_counts(const std::vector<LineRest>& rests, int64_t after = -1);

// P(the onset R grid steps before a line is the last before it): where the counted lines struck R
// steps before, the share of them whose last onset that was, with the network's own probability `p`
// counted as one line more: (last[R] + p) / (struck[R] + 1). Nearer the line than every rest
// counted, every line would have been reached by now: (n + p) / (n + 1) over the n lines counted.
// Elsewhere (nothing struck there, or nothing counted) `p`. Then taken from `p` by `strength` (0: p,
// 1: all the way).
double rest_hazard(const RestCounts& counts, int64_t R, double p, double strength);

// The guidance of a middle's rests: the bar lines it crosses and each one's counts.
class RestGuide {
 public:
  struct Line {
    int64_t step = 0;
    RestCounts counts;
  };
  RestGuide() = default;
  RestGuide(std::vector<Line> lines, double strength) : lines_(std::move(lines)), strength_(strength) {}
  bool active() const { return strength_ != 0 && !lines_.empty(); }
  // When the middle struck its last note now (`last_onset` == grammar.now()), the shifts' logits
  // in `logits` [V] are moved so that those reaching the next line take rest_hazard's share of the
  // shifts' probability, the shifts' total kept: a smaller share than the network gave is taken
  // from them all in proportion, a larger one is added to the shift that lands on the line (the
  // rest is before the line, not after it). Otherwise, or without that shift, nothing.
  void bias(float* logits, int64_t vocab, const midi::EventGrammar& grammar, int64_t last_onset) const;

 private:
  std::vector<Line> lines_;  // ascending
  double strength_ = 0;
};

}  // namespace legato::model
