#pragma once
// Launcher of the sum kernel (reduce.cu), behind engine/cuda/reduce.cpp.
// The conventions of every launcher: kernels/launch.h.
#include <cstdint>

typedef struct CUstream_st* cudaStream_t;

namespace legato::kernels {

// *out = alpha * sum(x [n]) (writes; deterministic: a fixed tree of partial sums).
void sum_launch(const float* x, int64_t n, float alpha, float* out, cudaStream_t stream);

}  // namespace legato::kernels
