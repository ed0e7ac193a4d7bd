#include "model/onset_grid.h"

#include <algorithm>
#include <cmath>

#include "midi/tokenizer_event.h"

namespace legato::model {
namespace {

const midi::EventTokenizer kGrid;  // the event scheme's grid: what a grid step is in ticks

}  // namespace

std::vector<double> onset_positions(const midi::Score& score, int64_t from, int64_t to, int64_t skip_from,
                                    int64_t skip_to) {
  const int64_t per_quarter = midi::EventOptions{}.steps_per_quarter;
  std::vector<double> shares(static_cast<size_t>(per_quarter), 0.0);
  int64_t onsets = 0;
  for (const midi::Note& n : score.notes) {
    const int64_t step = kGrid.to_steps(n.start_tick, score.ticks_per_quarter);
    if (step < from || step >= to || (step >= skip_from && step < skip_to)) continue;
    shares[static_cast<size_t>(step % per_quarter)] += 1;
    ++onsets;
  }
  if (onsets < kGridMinOnsets) return {};
  for (double& s : shares) s /= static_cast<double>(onsets);
  return shares;
}

void hold_back_off_grid(float* logits, int64_t vocab, const midi::EventGrammar& grammar,
                        const std::vector<double>& positions, int64_t end, double strength) {
  const auto per_quarter = static_cast<int64_t>(positions.size());
  const auto lowered = static_cast<float>(std::log(std::max(1 - strength, 1e-6)));
  const int64_t now = grammar.now();
  for (int32_t id = 0; id < vocab; ++id) {
    const int shift = grammar.shift_of(id);
    if (shift <= 0 || now + shift >= end) continue;
    if (positions[static_cast<size_t>((now + shift) % per_quarter)] < kGridMinShare) logits[id] += lowered;
  }
}

void RunningGrid::feed(int32_t token, const midi::EventGrammar& grammar) {
  if (grammar.pitch_of(token) < 0) return;
  ++counts_[static_cast<size_t>(grammar.now() % static_cast<int64_t>(counts_.size()))];
  // The beat is set once, by the first kGridMinOnsets onsets: a piece that strikes its eighths or
  // sixteenths more often than its beats later must not move it (its subdivisions would move with it).
  if (++onsets_ == kGridMinOnsets) beat_ = std::max_element(counts_.begin(), counts_.end()) - counts_.begin();
}

void RunningGrid::bias(float* logits, int64_t vocab, const midi::EventGrammar& grammar) const {
  if (!active() || beat_ < 0) return;
  const auto per_quarter = static_cast<int64_t>(counts_.size());
  for (int64_t k = 0; k < per_quarter; ++k) {
    // Struck so far, or a sixteenth or a triplet of the beat: a piece may go on from eighths to either.
    const int64_t from_beat = (k - beat_ + per_quarter) % per_quarter;
    const bool subdivision = from_beat % (per_quarter / 4) == 0 || from_beat % (per_quarter / 3) == 0;
    positions_[static_cast<size_t>(k)] =
        subdivision ? 1.0 : static_cast<double>(counts_[static_cast<size_t>(k)]) / static_cast<double>(onsets_);
  }
  hold_back_off_grid(logits, vocab, grammar, positions_, INT64_MAX, strength_);
}

}  // namespace legato::model
