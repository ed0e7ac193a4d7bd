#include "engine/device.h"

#include "engine/cuda/runtime.h"
#include "kernels/elementwise.h"

namespace legato {
namespace {

// The GPU: the caching device allocator, and copies, zeroing and filling queued on the stream.
class CudaDevice final : public DeviceInterface {
 public:
  void* allocate(size_t bytes) override { return cuda::allocate(bytes); }
  void release(void* block, size_t bytes) override { cuda::release(block, bytes); }
  void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) override {
    cuda::copy_bytes(dst, dst_device, src, src_device, bytes);
  }
  void zero_bytes(void* dst, size_t bytes) override { cuda::zero_bytes(dst, bytes); }
  void fill_f32(float* dst, int64_t n, float value) override { kernels::fill_launch(dst, n, value, cuda::stream()); }
};

}  // namespace

DeviceInterface& cuda_device_interface() {
  static CudaDevice device;
  return device;
}

}  // namespace legato
