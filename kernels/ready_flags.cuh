#pragma once
// Ready flags between the blocks of a cooperative launch (the persistent generator's): where only
// the producers of a vector and its consumers must meet, not the whole grid. A flag is an int in
// global memory that only its producer block writes, with values that only grow (a step count).
//   producer: every thread writes its part; __syncthreads(); one thread flag_release(flag, n)
//   consumer: one thread per flag flag_wait(flag, n); __syncthreads(); then every thread reads
// The release (st.release.gpu) after the barrier publishes the whole block's writes; the acquire
// (ld.acquire.gpu) before the consumer's barrier makes them visible to its whole block: the
// pattern of cooperative_groups' own grid barrier, split into its two halves. Read the data
// through L2 (__ldcg). Every block must be resident at once (a cooperative launch), or a wait may
// never end. On the CPU emulator a wait is a point where the thread yields until the flag is
// reached, and both are the happens-before edges of its order check (tests/cuda_emulator/emulator.h).
// Device code: include from .cu files.
#if defined(LEGATO_CUDA_EMULATOR)
__device__ inline void flag_release(int* flag, int value) { ::legato::emu::release_flag(flag, value); }
__device__ inline void flag_wait(const int* flag, int value) { ::legato::emu::wait_flag(flag, value); }
#else
__device__ inline void flag_release(int* flag, int value) {
  asm volatile("st.release.gpu.global.s32 [%0], %1;" ::"l"(flag), "r"(value) : "memory");
}
__device__ inline int flag_load_acquire(const int* flag) {
  int value;
  asm volatile("ld.acquire.gpu.global.s32 %0, [%1];" : "=r"(value) : "l"(flag) : "memory");
  return value;
}
// Spins until the flag holds at least `value`.
__device__ inline void flag_wait(const int* flag, int value) {
  while (flag_load_acquire(flag) < value) {
  }
}
#endif
