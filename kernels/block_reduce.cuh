#pragma once
// Block-wide reduction through shared memory, for the row and reduction kernels (device code:
// include from .cu files only). The tree's shape depends only on blockDim.x, so a sum adds its
// terms in the same order on every run.

namespace legato::kernels {

// Reduces one value per thread (max or sum) over the block; every thread gets the result.
// blockDim.x must be a power of two and shared must hold blockDim.x floats; every thread of the
// block must call it (it synchronises).
template <bool Max>
__device__ __forceinline__ float block_reduce(float value, float* shared) {
  shared[threadIdx.x] = value;
  __syncthreads();
  for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride)
      shared[threadIdx.x] = Max ? fmaxf(shared[threadIdx.x], shared[threadIdx.x + stride])
                                : shared[threadIdx.x] + shared[threadIdx.x + stride];
    __syncthreads();
  }
  const float result = shared[0];
  __syncthreads();  // shared is reused by the next reduction
  return result;
}

}  // namespace legato::kernels
