#pragma once
// The caching host allocator behind CPU tensors (base/block_cache.h): blocks freed by tensors
// are handed out again, so a training step that repeats the same shapes allocates nothing from
// the system after its first run (no page faults, no mmap/munmap per op).
#include <cstddef>

namespace legato {

void* host_allocate(size_t bytes);
void host_release(void* block, size_t bytes);
// Returns cached blocks to the system (tests, or before a phase that needs the memory).
void host_release_cache();
size_t host_cached_bytes();
// How many blocks have come from the system so far (the rest were reused from the cache).
size_t host_system_allocations();

}  // namespace legato
