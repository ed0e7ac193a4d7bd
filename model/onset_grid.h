#pragma once
// The positions in the beat where a piece strikes its notes (composer --infill-grid, docs/infill.md
// "Keeping to the piece's grid"). The event scheme's grid has 12 steps to a quarter note, so that
// sixteenths and triplets both fit, and a few pieces of the seed corpus strike off the straight
// grid (a constant offset of two steps, or played in): the networks learnt to strike anywhere, and
// their middles put 21-29% of their onsets on positions in the beat where the pieces around them
// strike under 1% of theirs (bench/results/quality.md, session 15), the seam after the gap among
// them (a note struck one or two steps before the bars after it, which real bars never do there).
#include <cstdint>
#include <vector>

#include "midi/grammar.h"
#include "midi/score.h"

namespace legato::model {

// The default of composer --grid-strength and of the other doors' (RunningGrid; bench/results/quality.md,
// session 15).
inline constexpr double kDefaultGridStrength = 1;

// A position in the beat the piece strikes on if at least this share of its onsets fall there: a
// stray onset or two in a piece does not make its position one to keep to.
inline constexpr double kGridMinShare = 0.01;
// Fewer onsets than this tell no grid (two bars of eighths do): guidance is off.
inline constexpr int64_t kGridMinOnsets = 16;

// Per position in the quarter note (grid step mod steps_per_quarter), the share of `score`'s onsets
// (pitched and drums) in grid steps [from, to) outside [skip_from, skip_to) that fall there; empty
// with fewer than kGridMinOnsets of them.
std::vector<double> onset_positions(const midi::Score& score, int64_t from, int64_t to, int64_t skip_from,
                                    int64_t skip_to);

// The logits [vocab] of the shifts that land before grid step `end` on a position in the beat where
// `positions` (onset_positions') holds fewer than kGridMinShare of the onsets, lowered by
// log(1 - strength) (strength 1: by a millionth).
void hold_back_off_grid(float* logits, int64_t vocab, const midi::EventGrammar& grammar,
                        const std::vector<double>& positions, int64_t end, double strength);

// Guidance of a middle's time shifts toward the positions in the beat its piece strikes on.
class GridGuide {
 public:
  GridGuide() = default;
  // `positions`: onset_positions'; `end`: the middle's end (grid steps from the piece's start), which
  // a shift may always reach; `strength` 0..1: how much of a shift's probability is taken where it
  // lands off the piece's positions (1: all but a millionth).
  GridGuide(std::vector<double> positions, int64_t end, double strength)
      : positions_(std::move(positions)), end_(end), strength_(strength) {}
  bool active() const { return strength_ > 0 && !positions_.empty(); }
  // The logits [vocab] of the shifts that land before the end on a position in the beat where fewer
  // than kGridMinShare of the piece's onsets fall are lowered by log(1 - strength): the network
  // rests on to a position the piece strikes on, or strikes there.
  void bias(float* logits, int64_t vocab, const midi::EventGrammar& grammar) const {
    if (active()) hold_back_off_grid(logits, vocab, grammar, positions_, end_, strength_);
  }

 private:
  std::vector<double> positions_;
  int64_t end_ = 0;
  double strength_ = 0;
};

// The same for a piece being composed (composer --grid-strength): its positions are those of its own
// notes so far (a primer's included), counted as it goes, and the sixteenths and triplets of its beat
// (the position struck most by its first kGridMinOnsets onsets, fixed then), where a piece may go on
// from eighths; from then on, a shift that would land elsewhere is held back. These networks drift: a stray shift of a
// step or two moves every later note off the bar's grid, and 12-20% of their pieces' onsets lay off
// their beat's sixteenths and triplets, where the corpus keeps 96% of its onsets (bench/results/
// quality.md, session 15); kept to their own beat, 2-4%.
class RunningGrid {
 public:
  explicit RunningGrid(double strength = 0) : strength_(strength) {}
  bool active() const { return strength_ > 0; }
  // Counts the onset of `token` (already fed to `grammar`) if it is a note.
  void feed(int32_t token, const midi::EventGrammar& grammar);
  // From the kGridMinOnsets-th onset on, hold_back_off_grid over the positions struck and the beat's
  // subdivisions; before it, nothing.
  void bias(float* logits, int64_t vocab, const midi::EventGrammar& grammar) const;

 private:
  std::vector<int64_t> counts_ = std::vector<int64_t>(static_cast<size_t>(midi::EventOptions{}.steps_per_quarter));
  mutable std::vector<double> positions_ = std::vector<double>(counts_.size());  // bias's, kept: no allocation
  int64_t onsets_ = 0;
  int64_t beat_ = -1;  // the position struck most by the first kGridMinOnsets onsets (-1: not yet)
  double strength_ = 0;
};

}  // namespace legato::model
