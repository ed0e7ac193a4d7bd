#include "engine/cuda/device_allocator.h"

#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>

#include "base/block_cache.h"
#include "kernels/cuda_check.h"

namespace legato::cuda {
namespace {

struct DeviceMemory {
  static void* allocate(size_t size) {
    void* block = nullptr;
    const cudaError_t status = cudaMalloc(&block, size);
    // A refusal is not left for the next launch's check to find: the cache empties itself and
    // tries once more (base/block_cache.h), and the error is thrown here if that fails too.
    if (status != cudaSuccess) cudaGetLastError();
    LEGATO_CUDA_CHECK(status);
    return block;
  }
  static void free(void* block) { cudaFree(block); }
};

// LEGATO_EXACT_ALLOC=1 (read once, at the first allocation) turns the cache off: every
// device_allocate is a cudaMalloc of exactly the bytes asked for and every device_release a
// cudaFree. It is for compute-sanitizer memcheck (tools/gpu_check.sh sets it), which can only see
// an access past the end of a cudaMalloc block: cached blocks are rounded up and reused, so an
// overrun or a use after release would land in memory that is still allocated. Slow (cudaMalloc
// and cudaFree synchronise the device); never for training.
bool exact_allocations() {
  const char* value = std::getenv("LEGATO_EXACT_ALLOC");
  return value && *value && std::strcmp(value, "0") != 0;
}

// 256 bytes: cudaMalloc's own alignment, and whole 128-byte cache lines for coalesced access.
BlockCache<DeviceMemory, 256>& cache() {
  static BlockCache<DeviceMemory, 256> instance(exact_allocations());
  return instance;
}

}  // namespace

void* device_allocate(size_t bytes) { return cache().allocate(bytes); }
void device_release(void* block, size_t bytes) { cache().release(block, bytes); }
void device_release_cache() { cache().release_all(); }
size_t device_cached_bytes() { return cache().cached_bytes(); }
size_t device_system_allocations() { return cache().system_allocations(); }

}  // namespace legato::cuda
