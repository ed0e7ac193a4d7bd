#pragma once
// The caching allocator for device memory (the CUDA backend's storage): freed blocks are kept by
// size and handed out again, so no cudaMalloc or cudaFree (which synchronise the device) happens
// inside a training loop that repeats its shapes. Blocks belong to the device current at allocation.
// Host code over the CUDA runtime, so here in engine/cuda/ (kernels/ holds device code only).
#include <cstddef>

namespace legato::cuda {

void* device_allocate(size_t bytes);  // throws with the CUDA error when memory runs out
void device_release(void* block, size_t bytes);
void device_release_cache();  // back to the driver, e.g. before handing the GPU to someone else
size_t device_cached_bytes();
size_t device_system_allocations();

}  // namespace legato::cuda
