#pragma once
// The training windows of a corpus without a list of them: window k is found from per-piece
// counts (a piece has the same windows at each of its shifts), and an epoch's order is a seeded
// permutation computed index by index. Memory is 8 bytes per training piece, whatever the
// number of windows: the seed's stride-1 windows would otherwise cost 16 bytes per token.
#include <cstdint>
#include <vector>

#include "corpus/corpus.h"
#include "engine/tensor.h"

namespace legato::model {

struct Window {
  uint32_t piece = 0;  // index into Corpus::train
  int shift = 0;       // semitones
  int64_t start = 0;   // first token
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
  TrainingWindows(const Corpus& corpus, int64_t seq_len, bool all_steps);
  int64_t size() const { return first_.back(); }
  Window at(int64_t k) const;
  // tokens [L, B] int32 (column b is window b); targets [B] for "last", [L * B] for "all"
  // (row t * B + b, matching the model's logits).
  void fill(const Window* windows, int64_t batch, Tensor& tokens, Tensor& targets) const;

 private:
  int64_t per_shift(const TrainPiece& p) const;  // windows of the piece at one shift

  const Corpus* corpus_;
  int64_t seq_len_;
  bool all_steps_;
  std::vector<int64_t> first_;  // [train pieces + 1]: each piece's first window, then the total
};

}  // namespace legato::model
