#include "engine/cpu/large_pages.h"

#include <sys/mman.h>

#include <cstdlib>
#include <new>

namespace legato::cpu {

void* allocate_host(size_t bytes) {
  constexpr size_t kHugePage = size_t{2} << 20;
  const bool large = bytes >= kHugePage;
  // aligned_alloc wants a multiple of the alignment; a large block's last page is then whole.
  const size_t alignment = large ? kHugePage : 64;
  void* block = std::aligned_alloc(alignment, (bytes + alignment - 1) / alignment * alignment);
  if (!block) throw std::bad_alloc();
  // Advice only: without transparent huge pages the block is ordinary memory, so failure is fine.
  if (large) (void)::madvise(block, bytes, MADV_HUGEPAGE);
  return block;
}

void release_host(void* block) { std::free(block); }

}  // namespace legato::cpu
