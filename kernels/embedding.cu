// The embedding lookup and its gradient (atomics: repeated tokens add into the same row).
#include "embedding.h"
#include "grid.h"
#include "launch.h"

namespace legato::kernels {
namespace {

__global__ void embedding_forward_kernel(const float* __restrict__ table, const int32_t* __restrict__ indices,
                                         float* __restrict__ out, int64_t count, int64_t width) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count * width) return;
  out[i] = table[static_cast<int64_t>(indices[i / width]) * width + i % width];
}

__global__ void embedding_backward_kernel(const float* __restrict__ dout, const int32_t* __restrict__ indices,
                                          float* dtable, int64_t count, int64_t width) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count * width) return;
  atomicAdd(&dtable[static_cast<int64_t>(indices[i / width]) * width + i % width], dout[i]);
}

}  // namespace

void embedding_forward_launch(const float* table, const int32_t* indices, float* out, int64_t count, int64_t width,
                              cudaStream_t stream) {
  if (count * width == 0) return;
  LEGATO_LAUNCH(embedding_forward_kernel, blocks_for(count * width), kThreads, 0, stream, table, indices, out, count,
                width);
}

void embedding_backward_launch(const float* dout, const int32_t* indices, float* dtable, int64_t count, int64_t width,
                               cudaStream_t stream) {
  if (count * width == 0) return;
  LEGATO_LAUNCH(embedding_backward_kernel, blocks_for(count * width), kThreads, 0, stream, dout, indices, dtable, count,
                width);
}

}  // namespace legato::kernels
