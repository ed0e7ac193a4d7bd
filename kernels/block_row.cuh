#pragma once
// The GPU's Rows for softmax.h's bodies (device code: include from .cu files only): one block per
// row, whose threads stride over its columns and meet in block_reduce, so any number of columns
// works with a fixed block size. It keeps nothing between the sum and the write: write evaluates
// f again, so that each thread writes only the columns it reads (y may alias x).
#include <cmath>

#include "block_reduce.cuh"

namespace legato::kernels {

struct BlockRow {
  using Scalar = float;
  const float* x;  // the input row [cols]
  float* y;        // the output row [cols]; may alias x
  int64_t cols;
  float* shared;  // blockDim.x floats of shared memory for the reductions

  __device__ float max() const {
    float local = -INFINITY;  // as the CPU's maxCoeff: a row of -inf gives NaN, not a number
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) local = fmaxf(local, x[j]);
    return block_reduce<true>(local, shared);
  }
  template <class F>
  __device__ float sum(F f) const {
    float local = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) local += f(x[j]);
    return block_reduce<false>(local, shared);
  }
  // Both reductions' barriers come before it: every read of the row precedes any write.
  template <class F, class G>
  __device__ void write(F f, G g) const {
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) y[j] = g(x[j], f(x[j]));
  }
  __device__ static float exp(float v) { return expf(v); }
  __device__ static float log(float v) { return logf(v); }
};

// The GPU's backward Row for softmax.h's softmax_backward_row: one block per row, as BlockRow.
struct BlockBackwardRow {
  using Scalar = float;
  const float* __restrict__ y;   // the output row [cols]
  const float* __restrict__ dy;  // the gradient reaching it [cols]
  float* __restrict__ dx;        // the input's gradient [cols], added to
  int64_t cols;
  float* shared;  // blockDim.x floats of shared memory for the reduction

  template <class F>
  __device__ float sum(F f) const {
    float local = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) local += f(y[j], dy[j]);
    return block_reduce<false>(local, shared);
  }
  template <class F>
  __device__ void add(F f) const {
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) dx[j] += f(y[j], dy[j]);
  }
  __device__ static float exp(float v) { return expf(v); }
};

}  // namespace legato::kernels
