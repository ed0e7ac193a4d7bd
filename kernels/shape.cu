// The kernel of slice's and concat's backward: a strided 2-D block added into another.
#include "grid.h"
#include "launch.h"
#include "shape.h"

namespace legato::kernels {
namespace {

__global__ void add_2d_kernel(float* __restrict__ dst, int64_t dst_pitch, const float* __restrict__ src,
                              int64_t src_pitch, int64_t rows, int64_t cols) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows * cols) return;
  const int64_t r = i / cols, c = i - r * cols;
  dst[r * dst_pitch + c] += src[r * src_pitch + c];
}

}  // namespace

void add_2d_launch(float* dst, int64_t dst_pitch, const float* src, int64_t src_pitch, int64_t rows, int64_t cols,
                   cudaStream_t stream) {
  if (rows * cols == 0) return;
  LEGATO_LAUNCH(add_2d_kernel, blocks_for(rows * cols), kThreads, 0, stream, dst, dst_pitch, src, src_pitch, rows,
                cols);
}

}  // namespace legato::kernels
