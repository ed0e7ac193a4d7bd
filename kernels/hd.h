#pragma once
// LEGATO_HD marks the per-element bodies that both the CUDA kernels and the CPU engine run, so
// the CPU tests check the very arithmetic that the GPU executes.
#if defined(__CUDACC__)
#define LEGATO_HD __host__ __device__ __forceinline__
#else
#define LEGATO_HD inline
#endif
