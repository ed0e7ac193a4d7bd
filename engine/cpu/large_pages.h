#pragma once
// Host memory for large buffers (weights, activations, packed operands) in 2 MiB pages where the
// kernel offers them (transparent huge pages in "madvise" mode, Debian's default). Why: every
// first touch of a 4 KiB page is a page fault, and on the virtual machines we run on one costs
// about 10 µs; a seed-sized checkpoint is 5,400 of them, and packing its weights as many again
// (composer spent 0.1 s of its 0.4 s in them). Small blocks keep 64-byte alignment (whole
// AVX-512 lines).
#include <cstddef>

namespace legato::cpu {

// At least `bytes` (> 0), 64-byte aligned; from 2 MiB up, 2 MiB aligned and advised to be backed
// by huge pages. Throws std::bad_alloc. Release with release_host().
void* allocate_host(size_t bytes);
void release_host(void* block);

}  // namespace legato::cpu
