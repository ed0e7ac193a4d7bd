#pragma once
// The cross-entropies' per-element arithmetic, shared by the CPU ops (engine/ops/loss.cpp) and the
// kernels (loss.cu). The softmax cross-entropy on logits takes its softmax from softmax.h's body:
// for a row with maximum m and sum of exponentials s, p_j = exp(z_j - m) / s and
//   loss = log(s) + m - z_target,   dloss/dz_j = (p_j - [j == target]) * scale
// (scale = the upstream gradient divided by the number of rows, for a mean over rows).
#include <cmath>

#include "hd.h"

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
