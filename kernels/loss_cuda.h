#pragma once
// Launchers of the loss kernels (loss.cu), behind engine/cuda/loss.cpp.
// The conventions of every launcher: kernels/launch.h.
#include <cstdint>

typedef struct CUstream_st* cudaStream_t;

namespace legato::kernels {

// Keras' categorical cross-entropy on probabilities [rows, cols], targets int32 [rows]:
// row_loss [rows] = -log(clamp(p[t] / sum(p), eps, 1 - eps)).
void xent_probs_forward_launch(const float* probs, const int32_t* targets, float* row_loss, int64_t rows, int64_t cols,
                               float eps, cudaStream_t stream);
// dprobs [rows, cols] += (g / rows) * (1 / S - [j == t] / p[t]) per row, g = *grad (device
// scalar), S the row's sum; rows whose p[t] / S was clipped get nothing.
void xent_probs_backward_launch(const float* probs, const int32_t* targets, const float* grad, float* dprobs,
                                int64_t rows, int64_t cols, float eps, cudaStream_t stream);

// One block per row of logits [rows, V]: row_loss [rows] = -log softmax(z)[target] and
// dlogits [rows, V] = (softmax - onehot) * scale. targets: int32 [rows]; a row whose target is
// outside [0, V) gets a NaN loss and a zero gradient (nothing is read outside the row).
void softmax_xent_launch(const float* logits, const int32_t* targets, float* row_loss, float* dlogits, int64_t rows,
                         int64_t vocab, float scale, cudaStream_t stream);

}  // namespace legato::kernels
