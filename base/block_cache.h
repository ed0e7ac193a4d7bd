#pragma once
// A cache of freed memory blocks by size, for allocators whose system calls are slow (host
// pages faulted in afresh, cudaMalloc and cudaFree synchronising the device): a training step
// that repeats the same shapes allocates nothing from the system after its first run.
// System = a type with static void* allocate(size_t) (throws on failure) and static void free(void*).
// Exact mode (the device allocator's LEGATO_EXACT_ALLOC=1) caches nothing and does not round:
// every allocate is the system's own allocation of exactly the bytes asked for and every release
// frees it, so a checker that watches the system's allocations (compute-sanitizer memcheck) sees
// an overrun past the requested size and a use after release, which the cache would hide.
#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace legato {

template <class System, size_t Alignment>
class BlockCache {
 public:
  explicit BlockCache(bool exact = false) : exact_(exact) {}
  ~BlockCache() { release_all(); }

  void* allocate(size_t bytes) {
    if (exact_) {
      void* block = System::allocate(bytes ? bytes : 1);  // still a distinct, non-null block
      std::lock_guard<std::mutex> lock(mutex_);
      ++system_allocations_;
      return block;
    }
    const size_t size = rounded(bytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_blocks_.find(size);
      if (it != free_blocks_.end() && !it->second.empty()) {
        void* block = it->second.back();
        it->second.pop_back();
        cached_bytes_ -= size;
        return block;
      }
    }
    void* block = System::allocate(size);
    std::lock_guard<std::mutex> lock(mutex_);
    ++system_allocations_;
    return block;
  }

  void release(void* block, size_t bytes) {
    if (!block) return;
    if (exact_) {
      System::free(block);
      return;
    }
    const size_t size = rounded(bytes);
    std::lock_guard<std::mutex> lock(mutex_);
    free_blocks_[size].push_back(block);
    cached_bytes_ += size;
  }

  // Returns every cached block to the system.
  void release_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, blocks] : free_blocks_)
      for (void* b : blocks) System::free(b);
    free_blocks_.clear();
    cached_bytes_ = 0;
  }

  size_t cached_bytes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_bytes_;
  }
  size_t system_allocations() {
    std::lock_guard<std::mutex> lock(mutex_);
    return system_allocations_;
  }

 private:
  // Whole alignment units, never zero bytes.
  static size_t rounded(size_t bytes) { return (bytes + Alignment - 1) / Alignment * Alignment + Alignment; }

  const bool exact_;
  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_blocks_;
  size_t cached_bytes_ = 0;
  size_t system_allocations_ = 0;
};

}  // namespace legato
