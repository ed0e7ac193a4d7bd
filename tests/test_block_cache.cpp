// base/block_cache.h with a counting system allocator: blocks reused by size, the cache bounded by
// max(floor, twice the most bytes handed out at once) with the sizes used longest ago freed first, and a
// refused allocation retried once the cache is emptied.
#include <doctest/doctest.h>

#include <cstdlib>
#include <new>
#include <vector>

#include "base/block_cache.h"

namespace {

// Counts what the cache takes from and gives back to the "system"; refuses once when `refuse_once` is set.
struct Counting {
  static inline size_t allocations = 0, frees = 0;
  static inline bool refuse_once = false;
  static void* allocate(size_t size) {
    if (refuse_once) {
      refuse_once = false;
      throw std::bad_alloc();
    }
    ++allocations;
    return std::malloc(size);
  }
  static void free(void* block) {
    ++frees;
    std::free(block);
  }
  static void reset() { allocations = frees = 0, refuse_once = false; }
};

using Cache = legato::BlockCache<Counting, 64>;
constexpr size_t kFloor = 256 * 1024;

}  // namespace

TEST_CASE("block cache: the same sizes again come from the cache, never from the system") {
  Counting::reset();
  Cache cache(false, kFloor);
  auto step = [&] {
    std::vector<void*> blocks;
    for (const size_t bytes : {1000, 2000, 1000, 30000}) blocks.push_back(cache.allocate(bytes));
    for (size_t k = 0; k < blocks.size(); ++k) cache.release(blocks[k], k == 3 ? 30000 : k == 1 ? 2000 : 1000);
  };
  step();
  CHECK(cache.system_allocations() == 4);
  for (int k = 0; k < 50; ++k) step();
  CHECK(cache.system_allocations() == 4);
  CHECK(Counting::frees == 0);
}

TEST_CASE("block cache: sizes that never come back are freed past max(floor, twice the peak in use)") {
  Counting::reset();
  Cache cache(false, kFloor);
  void* hot = cache.allocate(5000);  // a size used every round
  cache.release(hot, 5000);
  for (size_t k = 1; k <= 900; ++k) {  // each round a new size, up to 57.6 KB: 26 MB over the rounds
    void* block = cache.allocate(5000);
    CHECK(block == hot);  // the hot size is never the one freed
    void* once = cache.allocate(64 * k);
    cache.release(once, 64 * k);
    cache.release(block, 5000);
    CHECK(cache.cached_bytes() <= kFloor);  // twice the peak in use (under 63 KB) stays under the floor here
  }
  CHECK(Counting::frees > 800);
  CHECK(Counting::allocations == 901);
  // A larger peak in use lets the cache hold that much: 32 blocks of 32 KB at once, then again.
  std::vector<void*> big;
  for (int k = 0; k < 32; ++k) big.push_back(cache.allocate(32 * 1024));
  for (void* b : big) cache.release(b, 32 * 1024);
  const size_t before = cache.system_allocations();
  for (int k = 0; k < 32; ++k) big[static_cast<size_t>(k)] = cache.allocate(32 * 1024);
  CHECK(cache.system_allocations() == before);
  for (void* b : big) cache.release(b, 32 * 1024);
}

TEST_CASE("block cache: a refused allocation empties the cache and is tried once more") {
  Counting::reset();
  Cache cache(false, kFloor);
  cache.release(cache.allocate(4000), 4000);
  REQUIRE(cache.cached_bytes() > 0);
  Counting::refuse_once = true;
  void* block = cache.allocate(9000);
  CHECK(block != nullptr);
  CHECK(cache.cached_bytes() == 0);
  CHECK(Counting::frees == 1);
  cache.release(block, 9000);
}
