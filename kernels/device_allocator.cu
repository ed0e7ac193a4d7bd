#include "cuda_check.h"
#include "device_allocator.h"
#include "engine/block_cache.h"

namespace legato::kernels {
namespace {

struct DeviceMemory {
  static void* allocate(size_t size) {
    void* block = nullptr;
    LEGATO_CUDA_CHECK(cudaMalloc(&block, size));
    return block;
  }
  static void free(void* block) { cudaFree(block); }
};

// 256 bytes: cudaMalloc's own alignment, and whole 128-byte cache lines for coalesced access.
BlockCache<DeviceMemory, 256>& cache() {
  static BlockCache<DeviceMemory, 256> instance;
  return instance;
}

}  // namespace

void* device_allocate(size_t bytes) { return cache().allocate(bytes); }
void device_release(void* block, size_t bytes) { cache().release(block, bytes); }
void device_release_cache() { cache().release_all(); }
size_t device_cached_bytes() { return cache().cached_bytes(); }
size_t device_system_allocations() { return cache().system_allocations(); }

}  // namespace legato::kernels
