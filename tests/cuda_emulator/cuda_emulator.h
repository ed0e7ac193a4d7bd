#pragma once
// Included first (g++ -include) by every kernels/*.cu compiled as C++ for the emulator: what nvcc
// gives a .cu file, in plain C++ on top of emulator.h. LEGATO_EMU_UNIT (a C identifier, one per
// .cu file, set by CMake) names the file's shared-memory section.
#define LEGATO_CUDA_EMULATOR 1

#if !defined(LEGATO_EMU_UNIT)
#error "define LEGATO_EMU_UNIT (one identifier per .cu file) when compiling a kernel file for the emulator"
#endif
#define LEGATO_EMU_CAT2(a, b) a##b
#define LEGATO_EMU_CAT(a, b) LEGATO_EMU_CAT2(a, b)
#define LEGATO_EMU_STR2(x) #x
#define LEGATO_EMU_STR(x) LEGATO_EMU_STR2(x)
#define LEGATO_EMU_SECTION LEGATO_EMU_CAT(legato_shared_, LEGATO_EMU_UNIT)

// The execution-space keywords mean nothing on one CPU; the CUDA headers keep these definitions.
#define __global__
#define __device__
#define __host__
#define __grid_constant__
#define __launch_bounds__(...)
// A __shared__ variable is one static object in the file's section, which the emulator treats as
// the running block's shared memory (emulator.h). CUDA forbids initialisers on __shared__ and so
// does this in effect: the emulator overwrites the section at the start of every block.
#define __shared__ __attribute__((section(LEGATO_EMU_STR(LEGATO_EMU_SECTION)), aligned(16))) static

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "tests/cuda_emulator/emulator.h"

// The linker's bounds of this file's section; weak, so a file without __shared__ links (null).
extern "C" char LEGATO_EMU_CAT(__start_, LEGATO_EMU_SECTION)[] __attribute__((weak, visibility("hidden")));
extern "C" char LEGATO_EMU_CAT(__stop_, LEGATO_EMU_SECTION)[] __attribute__((weak, visibility("hidden")));
#define LEGATO_EMU_UNIT_SHARED                                                                \
  ::legato::emu::SharedSection {                                                              \
    LEGATO_EMU_CAT(__start_, LEGATO_EMU_SECTION), LEGATO_EMU_CAT(__stop_, LEGATO_EMU_SECTION) \
  }

// The built-in variables, after the CUDA headers (which declare them for nvcc).
#define threadIdx (::legato::emu::current_thread().thread_idx)
#define blockIdx (::legato::emu::current_thread().block_idx)
#define blockDim (::legato::emu::current_thread().block_dim)
#define gridDim (::legato::emu::current_thread().grid_dim)
#define warpSize 32

inline void __syncthreads() { ::legato::emu::syncthreads(); }

// Warp-level primitives: rendezvous of the lanes in the mask (emulator.h).
namespace legato::emu::detail {
template <class T>
inline uint64_t bits_of(T value) {
  static_assert(sizeof(T) <= sizeof(uint64_t), "a shuffle moves at most 8 bytes");
  uint64_t bits = 0;
  __builtin_memcpy(&bits, &value, sizeof(T));
  return bits;
}
template <class T>
inline T value_of(uint64_t bits) {
  T value;
  __builtin_memcpy(&value, &bits, sizeof(T));
  return value;
}
template <class T>
inline T shuffle(WarpOp op, unsigned mask, T var, int arg, int width) {
  return value_of<T>(warp_exchange(op, mask, bits_of(var), arg, width));
}
}  // namespace legato::emu::detail
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  ::legato::emu::warp_exchange(::legato::emu::WarpOp::Sync, mask, 0, 0, 32);
}
template <class T>
inline T __shfl_sync(unsigned mask, T var, int src_lane, int width = 32) {
  return ::legato::emu::detail::shuffle(::legato::emu::WarpOp::Shfl, mask, var, src_lane, width);
}
template <class T>
inline T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  return ::legato::emu::detail::shuffle(::legato::emu::WarpOp::ShflUp, mask, var, static_cast<int>(delta), width);
}
template <class T>
inline T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  return ::legato::emu::detail::shuffle(::legato::emu::WarpOp::ShflDown, mask, var, static_cast<int>(delta), width);
}
template <class T>
inline T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = 32) {
  return ::legato::emu::detail::shuffle(::legato::emu::WarpOp::ShflXor, mask, var, lane_mask, width);
}
inline unsigned __ballot_sync(unsigned mask, int predicate) {
  return static_cast<unsigned>(
      ::legato::emu::warp_exchange(::legato::emu::WarpOp::Ballot, mask, predicate != 0, 0, 32));
}
inline int __any_sync(unsigned mask, int predicate) {
  return static_cast<int>(::legato::emu::warp_exchange(::legato::emu::WarpOp::Any, mask, predicate != 0, 0, 32));
}
inline int __all_sync(unsigned mask, int predicate) {
  return static_cast<int>(::legato::emu::warp_exchange(::legato::emu::WarpOp::All, mask, predicate != 0, 0, 32));
}

// Atomics: emulated threads switch only at barriers, so a plain read-modify-write is atomic. The
// scope exempts it from the cross-block check (emulator.h).
template <class T>
inline T atomicAdd(T* address, T value) {
  const ::legato::emu::AtomicScope atomic;
  const T old = *address;
  *address = old + value;
  return old;
}
template <class T>
inline T atomicMax(T* address, T value) {
  const ::legato::emu::AtomicScope atomic;
  const T old = *address;
  if (value > old) *address = value;
  return old;
}
template <class T>
inline T atomicExch(T* address, T value) {
  const ::legato::emu::AtomicScope atomic;
  const T old = *address;
  *address = value;
  return old;
}

// Fences: emulated threads switch only at barriers and share one coherent memory.
inline void __threadfence() {}
inline void __threadfence_system() {}
// Loads that bypass L1 (data other blocks wrote since the last grid barrier): plain loads here.
template <class T>
inline T __ldcg(const T* address) {
  return *address;
}

// The device's fast-math intrinsics, as their accurate counterparts.
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }

// cooperative_groups, what the kernels use of it: the whole grid's barrier and the block's.
namespace cooperative_groups {
struct grid_group {
  void sync() const { ::legato::emu::grid_sync(); }
};
struct thread_block {
  void sync() const { ::legato::emu::syncthreads(); }
};
inline grid_group this_grid() { return {}; }
inline thread_block this_thread_block() { return {}; }
}  // namespace cooperative_groups
