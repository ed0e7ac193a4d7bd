#pragma once
// Validation metrics with one protocol for every model, so presets compare fairly: windows of
// seq_len tokens, the prediction after each window scored by exact cross-entropy on the logits.
#include <cstdint>

#include "corpus/batches.h"
#include "model/music_lstm.h"

namespace legato::model {

struct EvalResult {
  double loss = 0;        // mean negative log-likelihood (nats)
  double perplexity = 0;  // exp(loss)
  double accuracy = 0;    // argmax == target
  int64_t predictions = 0;
};

// Windows are spread evenly over the pieces (at most max_windows of them) so the cost is bounded.
EvalResult evaluate(const MusicLSTM& net, const Pieces& pieces, int64_t seq_len, int64_t batch,
                    int64_t max_windows = 2048);

}  // namespace legato::model
