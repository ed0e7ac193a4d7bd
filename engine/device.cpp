#include "engine/device.h"

#include <algorithm>
#include <cstring>

#include "engine/allocator.h"

namespace legato {
namespace {

// The host: the caching host allocator and plain memory functions.
class HostDevice final : public DeviceInterface {
 public:
  void* allocate(size_t bytes) override { return host_allocate(bytes); }
  void release(void* block, size_t bytes) override { host_release(block, bytes); }
  void copy_bytes(void* dst, Device, const void* src, Device, size_t bytes) override { std::memmove(dst, src, bytes); }
  void zero_bytes(void* dst, size_t bytes) override { std::memset(dst, 0, bytes); }
  void fill_f32(float* dst, int64_t n, float value) override { std::fill(dst, dst + n, value); }
};

}  // namespace

DeviceInterface& device_interface(Device device) {
  static HostDevice host;
  return device == Device::CPU ? static_cast<DeviceInterface&>(host) : cuda_device_interface();
}

}  // namespace legato
