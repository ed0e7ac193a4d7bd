#pragma once
// Small kernels that probe the emulator itself (tests/test_emulator.cpp): its barriers, orders,
// shared memory, validation and cooperative grids. Device pointers; every launch is checked
// (a bad one throws naming the kernel and its geometry).
#include <cuda_runtime.h>

#include <cstddef>

namespace legato::emu::probe {

// out[block linear index * threads + thread linear index] = that pair's own linear ids, packed as
// block * 1e6 + thread (grid and block up to 3-D).
void indices(dim3 grid, dim3 block, float* out);
// *out = the sum of x [256] by a tree in shared memory over one block of 256 threads; without
// the barrier inside the tree (a bug), the result depends on the order the threads run in.
void tree_sum(const float* x, float* out, bool barrier_in_tree);
// order [n] receives the linear ids of the n = 256 threads of one block in the order they ran.
void run_order(int* order);
// Threads 0..2 of a block return before a __syncthreads() the others reach.
void divergent_barrier();
// A trivial kernel at any geometry and dynamic shared memory (validation).
void empty_kernel(dim3 grid, dim3 block, size_t shared_bytes);
// A kernel with 49 KiB of static shared memory (over the 48 KiB a launch may have).
void big_shared_kernel();
// out [threads] = what each thread reads from shared memory it never wrote.
void read_unwritten_shared(float* out, int threads);
// Cooperative, blocks x threads: every block writes its id, the grid synchronises, every block
// adds all ids into sums[block]; each block also writes its id into its shared memory before
// the grid barrier and reads it back after (seen[block * threads + t]).
void grid_sum(int blocks, int threads, float* ids, float* sums, float* seen);
// blocks x threads with `bytes` of dynamic shared memory (at least threads floats): first_read
// [blocks * threads] = what each thread read from it before anything was written; then each block
// fills it with block * 1e6 + index (with a grid barrier when cooperative) and seen[b * threads + t]
// = its element bytes / 4 - 1 - t.
void dynamic_shared(int blocks, int threads, size_t bytes, bool cooperative, float* first_read, float* seen);
// cudaFuncSetAttribute(cudaFuncAttributeMaxDynamicSharedMemorySize) of opt_in's kernel.
cudaError_t raise_opt_in_limit(int bytes);
// One block of 32 threads with `bytes` of dynamic shared memory (at least 128).
void opt_in(size_t bytes);
// blocks x 32 threads: block b writes data[b] = b, then reads out[b] = data[b + 1 mod blocks] when
// `neighbour` (another block's write, unordered: the bug the cross-block check finds), else data[b].
void cross_block_read(int blocks, bool neighbour, float* data, float* out);
// Cooperative, blocks x 32 threads: block b writes data [b * 32, b * 32 + 32), releases flags[b]
// (zeroed first) and waits for flags[b + 1 mod blocks], then out[b * 32 + t] = data[(b + 1 mod
// blocks) * 32 + t]. variant 0: the protocol of kernels/ready_flags.cuh; 1: the release before
// the block's __syncthreads(); 2: no wait; 3: a wait for a value no block releases (a deadlock).
void ready_flag_pass(int blocks, int variant, float* data, int* flags, float* out);
// One block of 32 threads: each writes its own element of dynamic shared memory, and thread 5
// also thread 1's, with no barrier between (a race); out[32] = what each then reads back.
void dynamic_race(float* out);
// One block of `threads` (a multiple of 32): sums[t] = the sum of t's warp's thread indices (an
// xor butterfly of shuffles), down[t] = t + 3 (or t for the last 3 lanes), broadcast[t] = the
// index of lane 5 of t's warp, ballots[t] = the warp's ballot of lane % 3 == 0, xor (for lanes
// 0..15) their own half-warp ballot of lane % 2 == 0.
void warp_primitives(int threads, float* sums, float* down, float* broadcast, unsigned* ballots);
// A shuffle with a wrong mask in one warp: variant 0, a mask without the calling lanes 16..31;
// variant 1, a full mask while lanes 16..31 never call it.
void bad_warp_mask(int variant);
// blocks x 32 threads: thread 0 of every block adds 1 to *counter with atomicAdd.
void count_blocks(int blocks, int* counter);
// grid.sync() in a kernel launched without LEGATO_LAUNCH_COOPERATIVE.
void grid_sync_not_cooperative();

}  // namespace legato::emu::probe
