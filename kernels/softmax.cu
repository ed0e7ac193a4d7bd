// Softmax and log-softmax over the rows: one block per row, whose threads stride over its columns
// and meet in block_reduce, so any number of columns works with a fixed block size.
#include <cmath>

#include "block_reduce.cuh"
#include "block_row.cuh"
#include "grid.h"
#include "launch.h"
#include "softmax.h"

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

// dx [rows, cols] += the gradient of softmax (log: log_softmax) from y and dy [rows, cols], one
// block per row: softmax.h's backward body.
__global__ void softmax_rows_backward_kernel(const float* y, const float* dy, float* dx, int64_t cols, bool log) {
  __shared__ float shared[kThreads];
  const int64_t base = static_cast<int64_t>(blockIdx.x) * cols;
  BlockBackwardRow row{y + base, dy + base, dx + base, cols, shared};
  softmax_backward_row(row, log);
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
