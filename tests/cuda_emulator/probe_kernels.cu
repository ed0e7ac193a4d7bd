// The emulator's probe kernels (probe_kernels.h), written as any kernel of kernels/ is.
#include "kernels/block_reduce.cuh"
#include "kernels/cuda_check.h"
#include "kernels/dynamic_shared.cuh"
#include "kernels/launch.h"
#include "kernels/ready_flags.cuh"
#include "probe_kernels.h"

namespace legato::emu::probe {
namespace {

constexpr int kThreads = 256;

__device__ unsigned linear(uint3 i, dim3 extent) { return i.x + extent.x * (i.y + extent.y * i.z); }

__global__ void indices_kernel(float* out) {
  const unsigned b = linear(blockIdx, gridDim), t = linear(threadIdx, blockDim);
  const unsigned threads = blockDim.x * blockDim.y * blockDim.z;
  out[b * threads + t] = static_cast<float>(b) * 1e6f + static_cast<float>(t);
}

__global__ void tree_sum_kernel(const float* x, float* out, bool barrier_in_tree) {
  __shared__ float shared[kThreads];
  shared[threadIdx.x] = x[threadIdx.x];
  __syncthreads();
  for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) shared[threadIdx.x] += shared[threadIdx.x + stride];
    if (barrier_in_tree) __syncthreads();
  }
  if (threadIdx.x == 0) *out = shared[0];
}

__global__ void run_order_kernel(int* order, int* counter) {
  order[atomicAdd(counter, 1)] = static_cast<int>(threadIdx.x);
}

__global__ void divergent_barrier_kernel(float* out) {
  if (threadIdx.x < 3) return;
  __syncthreads();
  out[threadIdx.x] = 1.0f;
}

__global__ void empty_kernel_kernel() {}

__global__ void read_unwritten_shared_kernel(float* out) {
  __shared__ float never_written[kThreads];
  out[threadIdx.x] = never_written[threadIdx.x];
}

__global__ void grid_sum_kernel(float* ids, float* sums, float* seen) {
  __shared__ float mine[kThreads];
  const float id = static_cast<float>(blockIdx.x);
  mine[threadIdx.x] = id;
  if (threadIdx.x == 0) ids[blockIdx.x] = id;
  cooperative_groups::this_grid().sync();
  if (threadIdx.x == 0) {
    float total = 0.0f;
    for (unsigned b = 0; b < gridDim.x; ++b) total += ids[b];
    sums[blockIdx.x] = total;
  }
  seen[blockIdx.x * blockDim.x + threadIdx.x] = mine[threadIdx.x];
}

__global__ void grid_sync_kernel() { cooperative_groups::this_grid().sync(); }

__global__ void dynamic_shared_kernel(float* first_read, float* seen, int floats, bool grid_barrier) {
  LEGATO_DYNAMIC_SHARED(float, dynamic);
  const unsigned t = threadIdx.x, threads = blockDim.x, b = blockIdx.x;
  first_read[b * threads + t] = dynamic[t];
  __syncthreads();  // every thread has read its element before any is written
  for (int i = static_cast<int>(t); i < floats; i += static_cast<int>(threads))
    dynamic[i] = static_cast<float>(b) * 1e6f + static_cast<float>(i);
  if (grid_barrier) cooperative_groups::this_grid().sync();  // the other blocks write theirs meanwhile
  __syncthreads();
  seen[b * threads + t] = dynamic[floats - 1 - static_cast<int>(t)];  // another thread's element
}

__global__ void cross_block_read_kernel(float* data, float* out, bool neighbour) {
  if (threadIdx.x == 0) data[blockIdx.x] = static_cast<float>(blockIdx.x);
  __syncthreads();  // orders the block's own threads, not the blocks
  const unsigned from = neighbour ? (blockIdx.x + 1) % gridDim.x : blockIdx.x;
  if (threadIdx.x == 1) out[blockIdx.x] = data[from];
}

// Cooperative, 32 threads a block: each block writes its row of data, publishes it with its flag,
// and reads the next block's row after that block's flag (the protocol of kernels/ready_flags.cuh),
// or with one of the variant's planted bugs.
__global__ void ready_flag_kernel(float* data, int* flags, float* out, int variant) {
  const unsigned b = blockIdx.x, t = threadIdx.x, next = (b + 1) % gridDim.x;
  data[b * 32 + t] = static_cast<float>(b * 100 + t);
  if (variant == 1 && t == 0) flag_release(flags + b, 1);  // the bug: before the block's barrier
  __syncthreads();
  if (variant != 1 && t == 0) flag_release(flags + b, 1);
  if (variant != 2 && t == 0) flag_wait(flags + next, variant == 3 ? 2 : 1);  // 2: the bug, no wait; 3: never reached
  __syncthreads();
  out[b * 32 + t] = __ldcg(data + next * 32 + t);
}

__global__ void dynamic_race_kernel(float* out) {
  LEGATO_DYNAMIC_SHARED(float, dynamic);
  dynamic[threadIdx.x] = static_cast<float>(threadIdx.x);
  if (threadIdx.x == 0) dynamic[0] = 0.0f;   // every thread's own element: no race
  if (threadIdx.x == 5) dynamic[1] = -1.0f;  // thread 1's element, no barrier between: a race
  __syncthreads();
  out[threadIdx.x] = dynamic[threadIdx.x];
}

__global__ void warp_primitives_kernel(float* sums, float* down, float* broadcast, unsigned* ballots) {
  const unsigned t = threadIdx.x, lane = t % 32;
  float v = static_cast<float>(t);
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  sums[t] = v;  // every lane: its warp's sum
  down[t] = __shfl_down_sync(0xffffffffu, static_cast<float>(t), 3);
  broadcast[t] = __shfl_sync(0xffffffffu, static_cast<float>(t), 5);
  __syncwarp();
  const unsigned ballot = __ballot_sync(0xffffffffu, lane % 3 == 0);
  if (lane < 16) {  // half the warp, with the mask that names exactly that half
    const unsigned half = __ballot_sync(0x0000ffffu, lane % 2 == 0);
    ballots[t] = ballot ^ half;
  } else {
    ballots[t] = ballot;
  }
}

__global__ void bad_warp_mask_kernel(float* out, int variant) {
  const unsigned lane = threadIdx.x % 32;
  float v = static_cast<float>(lane);
  if (variant == 0) {
    v = __shfl_xor_sync(0x0000ffffu, v, 1);  // every lane calls it: lanes 16..31 are not in the mask
  } else if (lane < 16) {
    v = __shfl_xor_sync(0xffffffffu, v, 1);  // the mask names lanes 16..31, which never call it
  }
  out[threadIdx.x] = v;
}

__global__ void count_blocks_kernel(int* counter) {
  if (threadIdx.x == 0) atomicAdd(counter, 1);
}

// Device memory for a probe's scratch values, freed on the way out.
template <class T>
struct Scratch {
  T* ptr = nullptr;
  explicit Scratch(size_t n) { LEGATO_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&ptr), n * sizeof(T))); }
  ~Scratch() { cudaFree(ptr); }
};

}  // namespace

void indices(dim3 grid, dim3 block, float* out) { LEGATO_LAUNCH(indices_kernel, grid, block, 0, nullptr, out); }

void tree_sum(const float* x, float* out, bool barrier_in_tree) {
  LEGATO_LAUNCH(tree_sum_kernel, 1, kThreads, 0, nullptr, x, out, barrier_in_tree);
}

void run_order(int* order) {
  Scratch<int> counter(1);
  LEGATO_CUDA_CHECK(cudaMemset(counter.ptr, 0, sizeof(int)));
  LEGATO_LAUNCH(run_order_kernel, 1, kThreads, 0, nullptr, order, counter.ptr);
}

void divergent_barrier() {
  Scratch<float> out(kThreads);
  LEGATO_LAUNCH(divergent_barrier_kernel, 1, kThreads, 0, nullptr, out.ptr);
}

void empty_kernel(dim3 grid, dim3 block, size_t shared_bytes) {
  LEGATO_LAUNCH(empty_kernel_kernel, grid, block, shared_bytes, nullptr);
}

void read_unwritten_shared(float* out, int threads) {
  LEGATO_LAUNCH(read_unwritten_shared_kernel, 1, threads, 0, nullptr, out);
}

void grid_sum(int blocks, int threads, float* ids, float* sums, float* seen) {
  LEGATO_LAUNCH_COOPERATIVE(grid_sum_kernel, blocks, threads, 0, nullptr, ids, sums, seen);
}

void dynamic_shared(int blocks, int threads, size_t bytes, bool cooperative, float* first_read, float* seen) {
  const int floats = static_cast<int>(bytes / sizeof(float));
  if (cooperative)
    LEGATO_LAUNCH_COOPERATIVE(dynamic_shared_kernel, blocks, threads, bytes, nullptr, first_read, seen, floats, true);
  else
    LEGATO_LAUNCH(dynamic_shared_kernel, blocks, threads, bytes, nullptr, first_read, seen, floats, false);
}

void cross_block_read(int blocks, bool neighbour, float* data, float* out) {
  LEGATO_LAUNCH(cross_block_read_kernel, blocks, 32, 0, nullptr, data, out, neighbour);
}

void ready_flag_pass(int blocks, int variant, float* data, int* flags, float* out) {
  LEGATO_CUDA_CHECK(cudaMemset(flags, 0, static_cast<size_t>(blocks) * sizeof(int)));
  LEGATO_LAUNCH_COOPERATIVE(ready_flag_kernel, blocks, 32, 0, nullptr, data, flags, out, variant);
}

void dynamic_race(float* out) { LEGATO_LAUNCH(dynamic_race_kernel, 1, 32, 32 * sizeof(float), nullptr, out); }

void warp_primitives(int threads, float* sums, float* down, float* broadcast, unsigned* ballots) {
  LEGATO_LAUNCH(warp_primitives_kernel, 1, threads, 0, nullptr, sums, down, broadcast, ballots);
}

void bad_warp_mask(int variant) {
  Scratch<float> out(32);
  LEGATO_LAUNCH(bad_warp_mask_kernel, 1, 32, 0, nullptr, out.ptr, variant);
}

void count_blocks(int blocks, int* counter) { LEGATO_LAUNCH(count_blocks_kernel, blocks, 32, 0, nullptr, counter); }

void grid_sync_not_cooperative() { LEGATO_LAUNCH(grid_sync_kernel, 2, 32, 0, nullptr); }

}  // namespace legato::emu::probe
