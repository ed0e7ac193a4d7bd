#pragma once
// The softmax of one row, written once for the CPU ops (engine/ops/softmax.cpp, engine/ops/loss.cpp)
// and the kernels (softmax.cu, loss.cu). For a row x with maximum m and s = sum_j exp(x_j - m):
//   softmax_j = exp(x_j - m) / s,   log_softmax_j = x_j - m - log(s)
// (subtracting m keeps exp from overflowing; the cross-entropy's loss follows from m and s: loss.h).
//
// The body walks the row through a Row, the device's view of one row, whose values are what it
// applies a formula to at once: on the CPU an Eigen array holding the whole row (so that Eigen's
// vectorised exp, and with it every CPU result, stays as it was), on the GPU the elements of one
// thread, its reductions block-wide (kernels/block_row.cuh). A Row provides
//   Scalar        the element type
//   max()         max_j x_j
//   sum(f)        sum_j f(x_j); the Row may keep the values f(x_j) (the CPU keeps them in the output)
//   write(f, g)   y_j = g(x_j, f(x_j)), f(x_j) taken from what sum(f) kept where it kept them
//   exp(v)        the device's exp of a value; log(s) its log of a scalar
//
// The backward, written once the same way, walks a *backward Row*: the output y, the gradient
// reaching it dy and the input's gradient dx of one row (dx accumulates, as every gradient does):
//   Scalar        the element type
//   sum(f)        sum_j f(y_j, dy_j)
//   add(f)        dx_j += f(y_j, dy_j)
//   exp(v)        as above
// Below them: the launchers of softmax.cu, for the host code in engine/cuda/ (declarations only, no
// CUDA header needed: the CPU build compiles this file too).
#include <cstdint>

#include "hd.h"

typedef struct CUstream_st* cudaStream_t;

namespace legato::kernels {

template <class T>
struct SoftmaxStats {
  T max;  // the row's maximum m
  T sum;  // sum_j exp(x_j - m)
};

// Writes softmax(x) (log: log_softmax(x)) of the Row's input into its output; returns m and s.
template <class Row>
LEGATO_HD SoftmaxStats<typename Row::Scalar> softmax_row(Row& row, bool log) {
  using T = typename Row::Scalar;
  const T max = row.max();
  const auto shifted_exp = [max](const auto& x) { return Row::exp(x - max); };
  const T sum = row.sum(shifted_exp);
  if (log) {
    const T log_sum = Row::log(sum);
    row.write(shifted_exp, [max, log_sum](const auto& x, const auto&) { return x - max - log_sum; });
  } else {
    row.write(shifted_exp, [sum](const auto&, const auto& e) { return e / sum; });
  }
  return {max, sum};
}

// Adds the gradient of softmax (log: log_softmax) to the Row's dx, from its output y and dy:
//   softmax:      dx_j += y_j (dy_j - <dy, y>)
//   log_softmax:  dx_j += dy_j - exp(y_j) sum(dy)      (y = x - logsumexp(x), so exp(y) = softmax)
template <class Row>
LEGATO_HD void softmax_backward_row(Row& row, bool log) {
  using T = typename Row::Scalar;
  if (log) {
    const T s = row.sum([](const auto&, const auto& dy) { return dy; });
    row.add([s](const auto& y, const auto& dy) { return dy - Row::exp(y) * s; });
  } else {
    const T s = row.sum([](const auto& y, const auto& dy) { return dy * y; });
    row.add([s](const auto& y, const auto& dy) { return y * (dy - s); });
  }
}

}  // namespace legato::kernels

// ---- the launchers of softmax.cu, behind engine/cuda/softmax.cpp (their conventions: launch.h) ----
namespace legato::kernels {

// One block per row of x [rows, cols]: y = softmax(x) or log_softmax(x), max-subtracted.
void softmax_rows_launch(const float* x, float* y, int64_t rows, int64_t cols, bool log, cudaStream_t stream);
// dx [rows, cols] += y * (dy - <dy, y>) (softmax) or dy - exp(y) * sum(dy) (log_softmax).
void softmax_rows_backward_launch(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols, bool log,
                                  cudaStream_t stream);

}  // namespace legato::kernels
