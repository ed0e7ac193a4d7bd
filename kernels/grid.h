#pragma once
// Launch geometry shared by the kernel files: one-dimensional grids of kThreads threads, one per
// element (a power of two, which block_reduce needs).
#include <cstdint>

namespace legato::kernels {

constexpr int kThreads = 256;

// Blocks of kThreads for n elements (n > 0: the launchers return before a launch of nothing).
inline int blocks_for(int64_t n) { return static_cast<int>((n + kThreads - 1) / kThreads); }

}  // namespace legato::kernels
