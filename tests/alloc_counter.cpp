#include "alloc_counter.h"

#include <cstddef>

extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* pointer, size_t size);
}

namespace {
thread_local bool counting = false;
thread_local int64_t counted = 0;
}  // namespace

namespace legato::testing {
void count_allocations(bool on) { counting = on; }
int64_t allocations_counted() { return counted; }
}  // namespace legato::testing

// glibc's own allocator does the work; these only count. Exported from the test binary, they
// replace malloc for the plugin module too.
extern "C" void* malloc(size_t size) {
  if (counting) ++counted;
  return __libc_malloc(size);
}
extern "C" void* calloc(size_t count, size_t size) {
  if (counting) ++counted;
  return __libc_calloc(count, size);
}
extern "C" void* realloc(void* pointer, size_t size) {
  if (counting) ++counted;
  return __libc_realloc(pointer, size);
}
