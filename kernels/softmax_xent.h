#pragma once
// Softmax cross-entropy on logits, per element, shared by the CPU tests and the fused CUDA kernel:
// for a row with maximum m and sum of exponentials s, p_j = exp(z_j - m) / s and
//   loss = log(s) + m - z_target,   dloss/dz_j = (p_j - [j == target]) * scale
// (scale = the upstream gradient divided by the number of rows, for a mean over rows).
#include <cmath>

#include "hd.h"

namespace legato::kernels {

template <class T>
LEGATO_HD T softmax_xent_grad(T z, T row_max, T row_sum, bool is_target, T scale) {
  using std::exp;
  return (exp(z - row_max) / row_sum - (is_target ? T(1) : T(0))) * scale;
}

template <class T>
LEGATO_HD T softmax_xent_loss(T z_target, T row_max, T row_sum) {
  using std::log;
  return log(row_sum) + row_max - z_target;
}

// Bias add with an optional ReLU, y = max(0, x + b) or x + b; its backward passes dy where y > 0.
template <class T>
LEGATO_HD T bias_relu(T x, T b, bool relu) {
  const T y = x + b;
  return relu && y < T(0) ? T(0) : y;
}

}  // namespace legato::kernels
