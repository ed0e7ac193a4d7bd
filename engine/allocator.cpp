#include "engine/allocator.h"

#include "base/block_cache.h"
#include "engine/cpu/large_pages.h"

namespace legato {
namespace {

struct HostMemory {
  static void* allocate(size_t size) { return cpu::allocate_host(size); }
  static void free(void* block) { cpu::release_host(block); }
};

BlockCache<HostMemory, 64>& cache() {
  static BlockCache<HostMemory, 64> instance;
  return instance;
}

}  // namespace

void* host_allocate(size_t bytes) { return cache().allocate(bytes); }
void host_release(void* block, size_t bytes) { cache().release(block, bytes); }
void host_release_cache() { cache().release_all(); }
size_t host_cached_bytes() { return cache().cached_bytes(); }
size_t host_system_allocations() { return cache().system_allocations(); }

}  // namespace legato
