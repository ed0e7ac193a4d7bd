// The optimisers' fused step (engine/optim.cpp, engine/cuda/optim.cpp): one launch updates many parameters (as
// PyTorch's multi_tensor_apply). The host cuts the slot list into batches passed to the kernel by value; each block
// handles a fixed chunk of one slot's elements, found through the batch's prefix of block counts.
#include "block_reduce.cuh"
#include "cuda_check.h"
#include "grid.h"
#include "launch.h"
#include "optim.h"
#include "reduce.h"

namespace legato::kernels {
namespace {

constexpr int64_t kChunk = 2048;  // elements per block: 8 per thread
constexpr int kMaxSlots = 32;     // per launch: the batch stays ~1.6 KB, well inside the parameter space

struct SlotBatch {
  OptimSlot slots[kMaxSlots];
  int64_t block_start[kMaxSlots + 1];  // slot k owns blocks [block_start[k], block_start[k + 1])
  int count;
};

struct Chunk {
  int slot;
  int64_t begin, end;  // elements of that slot
};

// This block's slot and elements. Slots of n == 0 own no blocks and are stepped over.
__device__ __forceinline__ Chunk locate(const SlotBatch& batch) {
  const int64_t block = blockIdx.x;
  int k = 0;
  while (block >= batch.block_start[k + 1]) ++k;
  const int64_t begin = (block - batch.block_start[k]) * kChunk;
  const int64_t n = batch.slots[k].n;
  return {k, begin, begin + kChunk < n ? begin + kChunk : n};
}

// __grid_constant__: the batch is indexed by a runtime slot number; this reads it from the
// parameter space instead of copying ~1.6 KB to local memory in every thread.
__global__ void rmsprop_multi_kernel(const __grid_constant__ SlotBatch batch, float lr, float rho, float eps) {
  const Chunk c = locate(batch);
  float* w = batch.slots[c.slot].w;
  float* v = batch.slots[c.slot].v;
  const float* g = batch.slots[c.slot].g;
  for (int64_t i = c.begin + threadIdx.x; i < c.end; i += blockDim.x) rmsprop_update(&w[i], &v[i], g[i], lr, rho, eps);
}

__global__ void adam_multi_kernel(const __grid_constant__ SlotBatch batch, float lr_t, float beta1, float beta2,
                                  float eps) {
  const Chunk c = locate(batch);
  float* w = batch.slots[c.slot].w;
  float* m = batch.slots[c.slot].m;
  float* v = batch.slots[c.slot].v;
  const float* g = batch.slots[c.slot].g;
  for (int64_t i = c.begin + threadIdx.x; i < c.end; i += blockDim.x)
    adam_update(&w[i], &m[i], &v[i], g[i], lr_t, beta1, beta2, eps);
}

// partials[blockIdx.x] = sum of g^2 over this block's chunk (no atomics: the final sum is fixed-order).
__global__ void sum_of_squares_multi_kernel(const __grid_constant__ SlotBatch batch, float* __restrict__ partials) {
  __shared__ float shared[kThreads];
  const Chunk c = locate(batch);
  const float* g = batch.slots[c.slot].g;
  float local = 0.0f;
  for (int64_t i = c.begin + threadIdx.x; i < c.end; i += blockDim.x) local += g[i] * g[i];
  const float total = block_reduce<false>(local, shared);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

__global__ void scale_grads_multi_kernel(const __grid_constant__ SlotBatch batch, float factor) {
  const Chunk c = locate(batch);
  float* g = batch.slots[c.slot].g;
  for (int64_t i = c.begin + threadIdx.x; i < c.end; i += blockDim.x) g[i] *= factor;
}

// Calls launch(batch, blocks, first_block) for consecutive batches of up to kMaxSlots non-empty
// slots; first_block counts the blocks of the batches before (where a batch's partials go).
// A batch's blocks fit an int: a slot would need 2^31 chunks (4 * 10^12 elements) to overflow.
template <class Launch>
void for_each_batch(const OptimSlot* slots, int count, Launch&& launch) {
  SlotBatch batch{};
  int64_t first_block = 0;
  auto flush = [&] {
    const int64_t blocks = batch.block_start[batch.count];
    launch(batch, static_cast<int>(blocks), first_block);
    first_block += blocks;
    batch = SlotBatch{};
  };
  for (int s = 0; s < count; ++s) {
    if (slots[s].n == 0) continue;  // nothing to update (its pointers may be null)
    batch.slots[batch.count] = slots[s];
    batch.block_start[batch.count + 1] = batch.block_start[batch.count] + (slots[s].n + kChunk - 1) / kChunk;
    if (++batch.count == kMaxSlots) flush();
  }
  if (batch.count > 0) flush();
}

int64_t total_blocks(const OptimSlot* slots, int count) {
  int64_t blocks = 0;
  for (int s = 0; s < count; ++s) blocks += (slots[s].n + kChunk - 1) / kChunk;
  return blocks;
}

}  // namespace

int64_t sum_of_squares_partials(const OptimSlot* slots, int count) { return total_blocks(slots, count); }

void rmsprop_multi_launch(const OptimSlot* slots, int count, float lr, float rho, float eps, cudaStream_t stream) {
  for_each_batch(slots, count, [&](const SlotBatch& batch, int blocks, int64_t) {
    LEGATO_LAUNCH(rmsprop_multi_kernel, blocks, kThreads, 0, stream, batch, lr, rho, eps);
  });
}

void adam_multi_launch(const OptimSlot* slots, int count, float lr_t, float beta1, float beta2, float eps,
                       cudaStream_t stream) {
  for_each_batch(slots, count, [&](const SlotBatch& batch, int blocks, int64_t) {
    LEGATO_LAUNCH(adam_multi_kernel, blocks, kThreads, 0, stream, batch, lr_t, beta1, beta2, eps);
  });
}

void sum_of_squares_multi_launch(const OptimSlot* slots, int count, float* partials, float* out, cudaStream_t stream) {
  const int64_t blocks = total_blocks(slots, count);
  if (blocks == 0) {  // no elements at all: the sum is 0
    sum_launch(nullptr, 0, 1.0f, out, stream);
    return;
  }
  for_each_batch(slots, count, [&](const SlotBatch& batch, int batch_blocks, int64_t first_block) {
    LEGATO_LAUNCH(sum_of_squares_multi_kernel, batch_blocks, kThreads, 0, stream, batch, partials + first_block);
  });
  // The partials in block order, added by sum_launch's fixed tree: the same result every run.
  sum_launch(partials, blocks, 1.0f, out, stream);
}

void scale_grads_multi_launch(const OptimSlot* slots, int count, float factor, cudaStream_t stream) {
  for_each_batch(slots, count, [&](const SlotBatch& batch, int blocks, int64_t) {
    LEGATO_LAUNCH(scale_grads_multi_kernel, blocks, kThreads, 0, stream, batch, factor);
  });
}

}  // namespace legato::kernels
