#pragma once
// Every CUDA runtime call and cuBLAS call goes through these checks (every launch through
// LEGATO_LAUNCH, launch.h): a failure throws with the call, the file and line, and the library's
// own message.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace legato::kernels {

inline void cuda_check(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess)
    throw std::runtime_error(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
                             cudaGetErrorString(status));
}

inline void cublas_check(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
                             cublasGetStatusString(status));
}

}  // namespace legato::kernels

#define LEGATO_CUDA_CHECK(call) ::legato::kernels::cuda_check((call), #call, __FILE__, __LINE__)
#define LEGATO_CUBLAS_CHECK(call) ::legato::kernels::cublas_check((call), #call, __FILE__, __LINE__)
