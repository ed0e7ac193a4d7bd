#include "engine/backend.h"

// engine/backend.h where the CUDA backend is built (engine/without_cuda.cpp elsewhere).
#include "engine/cuda/runtime.h"
#include "kernels/cuda_check.h"

namespace legato {

bool cuda_built() { return true; }
int cuda_device_count() { return cuda::device_count(); }
void use_cuda_device(int index) { LEGATO_CUDA_CHECK(cudaSetDevice(index)); }
std::string device_description() {
  if (cuda_device_count() == 0) return "cpu";
  int device = 0;
  cudaDeviceProp prop{};
  if (cudaGetDevice(&device) != cudaSuccess || cudaGetDeviceProperties(&prop, device) != cudaSuccess)
    return "cuda (properties unavailable)";
  return std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ")";
}
void synchronize_device() {
  if (cuda_device_count() > 0) cuda::synchronize();
}

}  // namespace legato
