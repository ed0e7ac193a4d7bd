#pragma once
// Training examples cut from token streams, and batches of them as tensors.
//   objective "last" (the seed's): windows of L tokens with stride 1, the target is the token
//     after the window: one prediction per window.
//   objective "all": non-overlapping chunks of L + 1 tokens, a target at every step: L
//     predictions per chunk, for the same forward and backward cost.
#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace legato::model {

struct Example {
  int32_t piece = 0;
  int64_t start = 0;
};

using Pieces = std::vector<std::vector<int32_t>>;

// stride: distance between window starts for "last" (1 in training); ignored for "all".
std::vector<Example> make_examples(const Pieces& pieces, int64_t seq_len, bool all_steps, int64_t stride = 1);

// Fills tokens [L, B] (int32, column b is example b) and targets: [B] for "last", [L * B] for
// "all" (row t * B + b, matching the model's logits).
void fill_batch(const Pieces& pieces, const Example* examples, int64_t batch, int64_t seq_len, bool all_steps,
                Tensor& tokens, Tensor& targets);

}  // namespace legato::model
