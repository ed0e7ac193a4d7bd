#pragma once
// The cross-entropies' per-element arithmetic, shared by the CPU ops (engine/ops/loss.cpp) and the
// kernels (loss.cu). The softmax cross-entropy on logits takes its softmax from softmax.h's body:
// for a row with maximum m and sum of exponentials s, p_j = exp(z_j - m) / s and
//   loss = log(s) + m - z_target,   dloss/dz_j = (p_j - [j == target]) * scale
// (scale = the upstream gradient divided by the number of rows, for a mean over rows).
// Below them: the launchers of loss.cu, for the host code in engine/cuda/ (declarations only, no
// CUDA header needed: the CPU build compiles this file too).
#include <cmath>
#include <cstdint>

#include "hd.h"

typedef struct CUstream_st* cudaStream_t;

namespace legato::kernels {

// The gradient added to dz: dz + p * scale, then - scale at the target (this order of additions
// on both devices).
template <class T>
LEGATO_HD T softmax_xent_grad(T dz, T p, bool is_target, T scale) {
  const T d = dz + p * scale;
  return is_target ? d - scale : d;
}

template <class T>
LEGATO_HD T softmax_xent_loss(T z_target, T row_max, T row_sum) {
  using std::log;
  return log(row_sum) + row_max - z_target;
}

// Keras' categorical cross-entropy on probabilities, per row: with S the row's sum and p_t the
// target's probability, loss = -log(clamp(p_t / S, eps, 1 - eps)) (Keras normalises the row first).
// std::clamp's order of comparisons: a NaN passes through.
template <class T>
LEGATO_HD T keras_xent_loss(T p_target, T row_sum, T eps) {
  using std::log;
  const T q = p_target / row_sum;
  return -log(q < eps ? eps : (T(1) - eps) < q ? T(1) - eps : q);
}

// Its gradient: d(-log(p_t / S))/dp_j = 1/S - [j == t] / p_t, times g; nothing where p_t / S was
// clipped (the clamp's derivative is 0 there). Whether the row is clipped:
template <class T>
LEGATO_HD bool keras_xent_clipped(T p_target, T row_sum, T eps) {
  const T q = p_target / row_sum;
  return q < eps || q > T(1) - eps;
}
// dp_j += g / S, then -= g / p_t at the target: the same order of additions on both devices.
template <class T>
LEGATO_HD T keras_xent_grad(T dp, T p_target, T row_sum, bool is_target, T g) {
  const T d = dp + g / row_sum;
  return is_target ? d - g / p_target : d;
}

}  // namespace legato::kernels

// ---- the launchers of loss.cu, behind engine/cuda/loss.cpp (their conventions: launch.h) ----
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
