#pragma once
// Generation one token at a time: the LSTM state (h, c per layer) is carried between tokens, so
// each token costs one step of the network: O(1) work, where the seed re-ran a whole 100-token
// window for every token. The model's own per-token input (embed_token) and head run around the
// LSTM steps; no autograd graph is recorded.
#include <cstdint>
#include <random>
#include <vector>

#include "engine/ops.h"
#include "engine/ops/lstm.h"
#include "engine/tensor.h"
#include "model/music_lstm.h"

namespace legato::model {

struct SamplingOptions {
  double temperature = 1.0;  // > 0; below 1 sharpens the distribution
  // 0 (every token) by default: the default preset learns in one key, and from it on the seed
  // corpus every token scored a mean OA of 0.83-0.84 on one split and 0.79-0.80 on another, where
  // the 10 likeliest scored 0.85-0.86 and 0.71-0.72 (too few pitch classes) and the 5 likeliest,
  // best for networks trained in every key, 0.75-0.79 (bench/results/quality.md, 2026-12-01).
  int top_k = 0;
  double top_p = 1.0;   // nucleus: the smallest set of tokens with this much probability
  bool greedy = false;  // the seed's argmax
};

// Throws std::invalid_argument naming the first option out of range (none are checked with
// `greedy`): the one check of sampling options, on the CPU and before a GPU kernel runs alike.
void check_sampling(const SamplingOptions& options);

// Picks the next token from logits [V]. Throws on options out of range.
int32_t sample_token(const float* logits, int64_t vocab, const SamplingOptions& options, std::mt19937_64& rng);

// The network's weights must not change while a Generator uses them (it keeps packed copies).
class Generator {
 public:
  // The state between two tokens: per layer h [1, H] and c [1, H], and the logits [1, V] of the
  // token that follows. A caller that tries a continuation (live/'s answer composed during the
  // player's silence) saves it first and goes back to it when the try is dropped.
  struct State {
    std::vector<Tensor> h, c;
    Tensor logits;
  };

  explicit Generator(const MusicLSTM& net);
  void reset();  // zero state
  // Copies the state into `into` (allocating only the first time) and back out of it.
  void save(State& into) const;
  void restore(const State& from);
  // Advances the state by one token and returns the logits [V] of the token that follows.
  const Tensor& feed(int32_t token);
  const Tensor& logits() const { return logits_; }

 private:
  const MusicLSTM& net_;
  std::vector<Tensor> h_, c_, gates_;  // per layer: [1, H], [1, H], [1, 4H], with the weights
  std::vector<ops::LstmStepWeights> layers_;
  ops::LinearStepWeights dense1_, dense2_;  // the head's weights, packed once as the layers' are
  Tensor logits_;                           // [1, V], on the host
};

}  // namespace legato::model
