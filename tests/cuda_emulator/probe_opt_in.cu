// A kernel with dynamic shared memory and no static shared memory, alone in its file (the
// emulator counts a file's static shared memory against each of its kernels, emulator.h), so its
// limits are exactly the driver's: 48 KiB, or the opted-in attribute up to 227 KiB.
#include "kernels/cuda_check.h"
#include "kernels/dynamic_shared.cuh"
#include "kernels/launch.h"
#include "probe_kernels.h"

namespace legato::emu::probe {
namespace {

// Its own kernel, so that raising its limit leaves every other kernel's at the default.
__global__ void opt_in_kernel(float* out) {
  LEGATO_DYNAMIC_SHARED(float, dynamic);
  dynamic[threadIdx.x] = 1.0f;
  __syncthreads();
  out[threadIdx.x] = dynamic[blockDim.x - 1 - threadIdx.x];
}

}  // namespace

cudaError_t raise_opt_in_limit(int bytes) {
  return cudaFuncSetAttribute(reinterpret_cast<const void*>(opt_in_kernel), cudaFuncAttributeMaxDynamicSharedMemorySize,
                              bytes);
}

void opt_in(size_t bytes) {
  float* out = nullptr;
  LEGATO_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&out), 32 * sizeof(float)));
  try {
    LEGATO_LAUNCH(opt_in_kernel, 1, 32, bytes, nullptr, out);
  } catch (...) {
    cudaFree(out);
    throw;
  }
  cudaFree(out);
}

}  // namespace legato::emu::probe
