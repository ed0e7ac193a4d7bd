#pragma once
// A cache of freed memory blocks by size, for allocators whose system calls are slow (host
// pages faulted in afresh, cudaMalloc and cudaFree synchronising the device): a training step
// that repeats the same shapes allocates nothing from the system after its first run.
// System = a type with static void* allocate(size_t) (throws on failure) and static void free(void*).
//
// Bounded: blocks are cached only by their exact (rounded) size, so work whose shapes change from
// step to step (a loss over a varying number of rows, primers and phrases of every length in a
// long-lived server or live session) would otherwise keep every size it ever freed: a training run
// whose loss took a different number of rows each step grew by 26 MB a step to 12 GB and was
// killed. The cache holds at most max(`floor`, twice the most bytes ever handed out at once) and,
// past that, returns the sizes least recently asked for or freed to the system first. Twice: a step
// that repeats its shapes needs a block of every size it uses, and sizes that never coexist add up
// past its peak in use (the seed network's bf16 step faulted 64-85 pages a step with once, 0-26
// with twice, as the unbounded cache's 0-28); within that it reuses its blocks and never loses
// them. When the system refuses an allocation, the cache is emptied and the allocation tried once
// more.
//
// Exact mode (the device allocator's LEGATO_EXACT_ALLOC=1) caches nothing and does not round:
// every allocate is the system's own allocation of exactly the bytes asked for and every release
// frees it, so a checker that watches the system's allocations (compute-sanitizer memcheck) sees
// an overrun past the requested size and a use after release, which the cache would hide.
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace legato {

template <class System, size_t Alignment>
class BlockCache {
 public:
  static constexpr size_t kDefaultFloor = size_t{256} << 20;

  explicit BlockCache(bool exact = false, size_t floor = kDefaultFloor) : exact_(exact), floor_(floor) {}
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
      in_use_ += size;
      peak_in_use_ = in_use_ > peak_in_use_ ? in_use_ : peak_in_use_;
      if (auto it = free_blocks_.find(size); it != free_blocks_.end()) {  // never empty
        void* block = it->second.list.back();
        it->second.list.pop_back();
        it->second.last_use = ++clock_;
        if (it->second.list.empty()) free_blocks_.erase(it);
        cached_bytes_ -= size;
        return block;
      }
    }
    void* block = from_system(size);
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
    in_use_ -= size;
    Blocks& blocks = free_blocks_[size];
    blocks.list.push_back(block);
    blocks.last_use = ++clock_;
    cached_bytes_ += size;
    const size_t limit = floor_ > 2 * peak_in_use_ ? floor_ : 2 * peak_in_use_;
    while (cached_bytes_ > limit) evict_least_recent();
  }

  // Returns every cached block to the system.
  void release_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, blocks] : free_blocks_)
      for (void* b : blocks.list) System::free(b);
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
  struct Blocks {
    std::vector<void*> list;  // free blocks of this size (an entry with none is erased)
    uint64_t last_use = 0;    // clock_ when a block of this size was last freed or taken from here
  };

  // Whole alignment units, never zero bytes.
  static size_t rounded(size_t bytes) { return (bytes + Alignment - 1) / Alignment * Alignment + Alignment; }

  void* from_system(size_t size) {
    try {
      return System::allocate(size);
    } catch (...) {  // the cached blocks may be what the system lacks
      release_all();
      return System::allocate(size);
    }
  }

  // Frees the cached blocks of the size used longest ago (mutex_ held).
  void evict_least_recent() {
    auto oldest = free_blocks_.end();
    for (auto it = free_blocks_.begin(); it != free_blocks_.end(); ++it)
      if (oldest == free_blocks_.end() || it->second.last_use < oldest->second.last_use) oldest = it;
    if (oldest == free_blocks_.end()) return;
    for (void* b : oldest->second.list) System::free(b);
    cached_bytes_ -= oldest->first * oldest->second.list.size();
    free_blocks_.erase(oldest);
  }

  const bool exact_;
  const size_t floor_;  // the cache may always hold this much
  std::mutex mutex_;
  std::unordered_map<size_t, Blocks> free_blocks_;
  size_t cached_bytes_ = 0;
  size_t in_use_ = 0, peak_in_use_ = 0;  // bytes handed out and not yet released, now and at most
  uint64_t clock_ = 0;
  size_t system_allocations_ = 0;
};

}  // namespace legato
