// Dropout with the CPU's Philox mask (philox.h), bit for bit.
#include "dropout.h"
#include "grid.h"
#include "launch.h"
#include "philox.h"

namespace legato::kernels {
namespace {

__global__ void dropout_kernel(const float* x, float* y, float* __restrict__ mask, int64_t n, float p, uint64_t seed,
                               uint64_t offset, DropoutRows rows) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float m = dropout_scale<float>(seed, offset, rows.slice.whole_index(static_cast<uint64_t>(i), rows.inner), p);
  mask[i] = m;
  y[i] = x[i] * m;
}

}  // namespace

void dropout_launch(const float* x, float* y, float* mask, int64_t n, float p, uint64_t seed, uint64_t offset,
                    DropoutRows rows, cudaStream_t stream) {
  if (n == 0) return;
  LEGATO_LAUNCH(dropout_kernel, blocks_for(n), kThreads, 0, stream, x, y, mask, n, p, seed, offset, rows);
}

}  // namespace legato::kernels
