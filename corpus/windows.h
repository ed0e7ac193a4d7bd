#pragma once
// The training windows of a corpus without a list of them: window k is found from per-piece
// counts (a piece has the same windows at each of its shifts), and an epoch's order is a seeded
// permutation computed index by index. Memory is 8 bytes per training piece, whatever the
// number of windows: the seed's stride-1 windows would otherwise cost 16 bytes per token.
#include <cstdint>
#include <vector>

#include <optional>

#include "corpus/corpus.h"
#include "engine/tensor.h"
#include "midi/infill.h"

namespace legato::model {

struct Window {
  uint32_t piece = 0;  // index into Corpus::train
  int shift = 0;       // semitones
  int64_t start = 0;   // first token
  // Random bits that choose how the window is laid out: plain, or arranged for infilling and
  // where its cuts fall (set per epoch by the trainer with draw_for; 0 from at()).
  uint64_t draw = 0;
};

// A bijection of [0, n) chosen by `key`: a 4-round Feistel network over the smallest even number
// of bits that covers n, walking the cycle until the value falls inside (fewer than 4 steps on
// average). O(1) memory, so an epoch over a billion windows needs no shuffled array.
class Permutation {
 public:
  Permutation(uint64_t n, uint64_t key);
  uint64_t operator()(uint64_t i) const;

 private:
  uint64_t n_, key_;
  int half_bits_;
};

class TrainingWindows {
 public:
  // all_steps: chunks of seq_len + 1 tokens every seq_len ("all"); else windows at every token ("last").
  // infill_rate: the share of windows (objective "all", event scheme) that fill() arranges for
  // infilling (midi/infill.h), their cuts drawn from Window::draw; the corpus's vocabulary must
  // then hold InfillLayout::needed_tokens().
  TrainingWindows(const Corpus& corpus, int64_t seq_len, bool all_steps, double infill_rate = 0);
  int64_t size() const { return first_.back(); }
  Window at(int64_t k) const;
  // Window::draw for the window at `position` of an epoch whose order has `key`.
  static uint64_t draw_for(uint64_t key, uint64_t position);
  // tokens [L, B] int32 (column b is window b); targets [B] for "last", [L * B] for "all"
  // (row t * B + b, matching the model's logits).
  void fill(const Window* windows, int64_t batch, Tensor& tokens, Tensor& targets) const;
  // The L + 1 tokens of window w arranged suffix, prefix, middle; empty when it is to stay plain
  // (not drawn, or too near its piece's end for a suffix).
  std::vector<int32_t> infill_window(const Window& w) const;
  // Whether a window that is not arranged for infilling begins with its piece's control tokens
  // (Corpus::controls; then its first L + 1 - controls tokens follow them). Three windows in four
  // do; the fourth stays plain, so that the network still composes from BOS alone (where no one
  // names controls) and its validation loss, on plain windows, stays comparable with a run's without.
  bool with_controls(const Window& w) const;

 private:
  int64_t per_shift(const TrainPiece& p) const;  // windows of the piece at one shift
  // The instrument and velocity tokens in force before token `start` of piece p (-1: none).
  std::pair<int32_t, int32_t> state_before(const TrainPiece& p, int shift, int64_t start) const;

  const Corpus* corpus_;
  int64_t seq_len_;
  bool all_steps_;
  double infill_rate_;
  std::optional<midi::InfillLayout> infill_;
  std::vector<int64_t> first_;  // [train pieces + 1]: each piece's first window, then the total
};

}  // namespace legato::model
