#pragma once
// Counts the heap allocations a thread makes while counting is on: the LV2 tests replace malloc,
// calloc and realloc (alloc_counter.cpp, linked into their binary alone), which operator new and
// every library the plugin uses call, to check that run() allocates nothing.
#include <cstdint>

namespace legato::testing {

void count_allocations(bool on);  // this thread only: a host's other threads may allocate
int64_t allocations_counted();

}  // namespace legato::testing
