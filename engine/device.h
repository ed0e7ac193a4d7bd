#pragma once
// The device seam (ggml's backend buffer interface): what the tensor core asks of a device, so
// that engine/tensor.cpp knows no device. The host's interface is in engine/device.cpp; the GPU's
// in engine/cuda/device.cpp where the CUDA backend is built (engine/without_cuda.cpp stands in
// elsewhere and refuses: such a build holds no CUDA tensors).
#include <cstddef>
#include <cstdint>

#include "engine/tensor.h"

namespace legato {

class DeviceInterface {
 public:
  virtual ~DeviceInterface() = default;
  // Storage of `bytes` on this device; released with the same size.
  virtual void* allocate(size_t bytes) = 0;
  virtual void release(void* block, size_t bytes) = 0;
  // `bytes` from src to dst, either of them on this device and the other on this device or the
  // host; returns once a host destination holds the data (the caller may read or free it).
  virtual void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) = 0;
  virtual void zero_bytes(void* dst, size_t bytes) = 0;
  // dst [n] = value (float32: the only dtype a device other than the host fills in place).
  virtual void fill_f32(float* dst, int64_t n, float value) = 0;
};

DeviceInterface& device_interface(Device device);
// The GPU's (engine/cuda/device.cpp, or engine/without_cuda.cpp, which throws on allocation).
DeviceInterface& cuda_device_interface();

}  // namespace legato
