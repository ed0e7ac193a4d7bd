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

// The batch layout, written once for every source of windows: tokens [L, B] (int32, column b is
// example b) and targets [B] for "last" (the token after the window), [L * B] for "all" (row
// t * B + b, the token after each; matching the model's logits). token_of(b, t) is example b's
// token t, for t in [0, L]. Tensors of another shape or type are replaced.
template <class TokenOf>
void write_batch(int64_t batch, int64_t seq_len, bool all_steps, Tensor& tokens, Tensor& targets,
                 const TokenOf& token_of) {
  if (!tokens.defined() || tokens.shape() != Shape{seq_len, batch} || tokens.dtype() != DType::I32)
    tokens = Tensor::empty({seq_len, batch}, DType::I32);
  const Shape target_shape = all_steps ? Shape{seq_len * batch} : Shape{batch};
  if (!targets.defined() || targets.shape() != target_shape || targets.dtype() != DType::I32)
    targets = Tensor::empty(target_shape, DType::I32);
  int32_t* x = tokens.data<int32_t>();
  int32_t* y = targets.data<int32_t>();
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < seq_len; ++t) {
      x[t * batch + b] = token_of(b, t);
      if (all_steps) y[t * batch + b] = token_of(b, t + 1);
    }
    if (!all_steps) y[b] = token_of(b, seq_len);
  }
}

// The batch of examples[0, batch) of `pieces` (write_batch's layout).
void fill_batch(const Pieces& pieces, const Example* examples, int64_t batch, int64_t seq_len, bool all_steps,
                Tensor& tokens, Tensor& targets);

}  // namespace legato::model
