// Softmax and log-softmax over the rows: one block per row, whose threads stride over its columns
// and meet in block_reduce, so any number of columns works with a fixed block size.
#include <cmath>

#include "block_reduce.cuh"
#include "block_row.cuh"
#include "grid.h"
#include "launch.h"
#include "softmax.h"
#include "softmax_cuda.h"

namespace legato::kernels {
namespace {

// y [rows, cols] = softmax(x) or log_softmax(x) [rows, cols], one block per row: softmax.h's body.
// y may alias x (block_row.cuh).
__global__ void softmax_rows_kernel(const float* x, float* y, int64_t cols, bool log) {
  __shared__ float shared[kThreads];
  const int64_t base = static_cast<int64_t>(blockIdx.x) * cols;
  BlockRow row{x + base, y + base, cols, shared};
  softmax_row(row, log);
}

// softmax: dx += y * (dy - <dy, y>);  log_softmax (y = x - logsumexp): dx += dy - exp(y) * sum(dy).
__global__ void softmax_rows_backward_kernel(const float* __restrict__ y, const float* __restrict__ dy,
                                             float* __restrict__ dx, int64_t cols, bool log) {
  __shared__ float shared[kThreads];
  const int64_t base = static_cast<int64_t>(blockIdx.x) * cols;
  float local = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) local += log ? dy[base + j] : dy[base + j] * y[base + j];
  const float s = block_reduce<false>(local, shared);
  for (int64_t j = base + threadIdx.x; j < base + cols; j += blockDim.x)
    dx[j] += log ? dy[j] - expf(y[j]) * s : y[j] * (dy[j] - s);
}

}  // namespace

void softmax_rows_launch(const float* x, float* y, int64_t rows, int64_t cols, bool log, cudaStream_t stream) {
  if (rows == 0) return;
  LEGATO_LAUNCH(softmax_rows_kernel, static_cast<unsigned>(rows), kThreads, 0, stream, x, y, cols, log);
}

void softmax_rows_backward_launch(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols, bool log,
                                  cudaStream_t stream) {
  if (rows == 0) return;
  LEGATO_LAUNCH(softmax_rows_backward_kernel, static_cast<unsigned>(rows), kThreads, 0, stream, y, dy, dx, cols, log);
}

}  // namespace legato::kernels
