#include "engine/allocator.h"

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace legato {
namespace {

constexpr size_t kAlignment = 64;  // whole AVX-512 lines for Eigen and OpenBLAS

struct Cache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;  // by rounded size
  size_t cached_bytes = 0;
  size_t system_allocations = 0;
  ~Cache() {
    for (auto& [bytes, blocks] : free_blocks)
      for (void* b : blocks) std::free(b);
  }
};

Cache& cache() {
  static Cache instance;
  return instance;
}

size_t rounded(size_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment + kAlignment; }

}  // namespace

void* host_allocate(size_t bytes) {
  const size_t size = rounded(bytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* block = it->second.back();
      it->second.pop_back();
      c.cached_bytes -= size;
      return block;
    }
  }
  void* block = std::aligned_alloc(kAlignment, size);
  if (!block) throw std::bad_alloc();
  std::lock_guard<std::mutex> lock(c.mutex);
  ++c.system_allocations;
  return block;
}

void host_release(void* block, size_t bytes) {
  if (!block) return;
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  const size_t size = rounded(bytes);
  c.free_blocks[size].push_back(block);
  c.cached_bytes += size;
}

void host_release_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  for (auto& [bytes, blocks] : c.free_blocks)
    for (void* b : blocks) std::free(b);
  c.free_blocks.clear();
  c.cached_bytes = 0;
}

size_t host_cached_bytes() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.cached_bytes;
}

}  // namespace legato

namespace legato {
size_t host_system_allocations() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.system_allocations;
}
}  // namespace legato
