// A kernel with more static shared memory than a launch may have (48 KiB), alone in its file: the
// emulator counts a file's shared memory against each of its kernels (emulator.h).
#include "kernels/cuda_check.h"
#include "kernels/launch.h"
#include "probe_kernels.h"

namespace legato::emu::probe {
namespace {

constexpr int kFloats = 49 * 1024 / 4;

__global__ void big_shared_kernel_kernel(float* out) {
  __shared__ float big[kFloats];
  big[threadIdx.x] = 1.0f;
  __syncthreads();
  out[threadIdx.x] = big[kFloats - 1 - threadIdx.x];
}

}  // namespace

void big_shared_kernel() {
  float* out = nullptr;
  LEGATO_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&out), 32 * sizeof(float)));
  try {
    LEGATO_LAUNCH(big_shared_kernel_kernel, 1, 32, 0, nullptr, out);
  } catch (...) {
    cudaFree(out);
    throw;
  }
  cudaFree(out);
}

}  // namespace legato::emu::probe
