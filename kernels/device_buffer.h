#pragma once
// A float array in device memory with checked allocation and copies (tests, benchmarks).
#include <cuda_runtime.h>

#include <vector>

#include "kernels/cuda_check.h"

namespace legato::kernels {

class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t count) : count_(count) {
    LEGATO_CUDA_CHECK(cudaMalloc(&ptr_, std::max<size_t>(count, 1) * sizeof(float)));
  }
  explicit DeviceBuffer(const std::vector<float>& host) : DeviceBuffer(host.size()) { upload(host); }
  ~DeviceBuffer() { cudaFree(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  float* get() const { return ptr_; }
  size_t size() const { return count_; }
  void upload(const std::vector<float>& host) {
    LEGATO_CUDA_CHECK(cudaMemcpy(ptr_, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
  }
  std::vector<float> download() const {
    std::vector<float> out(count_);
    LEGATO_CUDA_CHECK(cudaMemcpy(out.data(), ptr_, count_ * sizeof(float), cudaMemcpyDeviceToHost));
    return out;
  }
  void zero() { LEGATO_CUDA_CHECK(cudaMemset(ptr_, 0, count_ * sizeof(float))); }

 private:
  float* ptr_ = nullptr;
  size_t count_ = 0;
};

}  // namespace legato::kernels
