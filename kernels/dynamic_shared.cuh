#pragma once
// A kernel's dynamic shared memory (the launch's shared-bytes argument) as `type* name`:
// `extern __shared__` under nvcc, the running block's own array on the CPU emulator (a plain
// extern declaration cannot name per-block storage there). Device code: include from .cu files.
// Launches that ask for more than 48 KiB must first raise the kernel's
// cudaFuncAttributeMaxDynamicSharedMemorySize (cudaFuncSetAttribute), on a GPU and in the emulator.
#if defined(LEGATO_CUDA_EMULATOR)
#define LEGATO_DYNAMIC_SHARED(type, name) type* const name = static_cast<type*>(::legato::emu::dynamic_shared())
#else
#define LEGATO_DYNAMIC_SHARED(type, name)                          \
  extern __shared__ __align__(16) unsigned char legato_dynamic_[]; \
  type* const name = reinterpret_cast<type*>(legato_dynamic_)
#endif
