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
  // 0: no limit. Five by default: on the seed corpus, 20 pieces from the default preset against
  // the held-out pieces scored a mean OA of 0.82 (seeds 1-20 and 21-40 alike) where sampling from
  // every token scored 0.76; k = 3, 4, 5 all did, 8 and 10 fell back (bench/results/quality.md).
  int top_k = 5;
  double top_p = 1.0;   // nucleus: the smallest set of tokens with this much probability
  bool greedy = false;  // the seed's argmax
};

// Picks the next token from logits [V]. Throws on options out of range.
int32_t sample_token(const float* logits, int64_t vocab, const SamplingOptions& options, std::mt19937_64& rng);

// The network's weights must not change while a Generator uses them (it keeps packed copies).
class Generator {
 public:
  explicit Generator(const MusicLSTM& net);
  void reset();  // zero state
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
