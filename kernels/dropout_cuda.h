#pragma once
// Launcher of the dropout kernel (dropout.cu), behind engine/cuda/dropout.cpp.
// The conventions of every launcher: kernels/launch.h.
#include <cstdint>

typedef struct CUstream_st* cudaStream_t;

namespace legato::kernels {

// y[i] = x[i] * mask[i]; mask[i] = dropout_scale(seed, offset, i, p) (philox.h), the CPU's mask
// bit for bit. x, y, mask: [n]; y may alias x.
void dropout_launch(const float* x, float* y, float* mask, int64_t n, float p, uint64_t seed, uint64_t offset,
                    cudaStream_t stream);

}  // namespace legato::kernels
