#pragma once
// Launchers of the softmax kernels (softmax.cu), behind engine/cuda/softmax.cpp.
// The conventions of every launcher: kernels/launch.h.
#include <cstdint>

typedef struct CUstream_st* cudaStream_t;

namespace legato::kernels {

// One block per row of x [rows, cols]: y = softmax(x) or log_softmax(x), max-subtracted.
void softmax_rows_launch(const float* x, float* y, int64_t rows, int64_t cols, bool log, cudaStream_t stream);
// dx [rows, cols] += y * (dy - <dy, y>) (softmax) or dy - exp(y) * sum(dy) (log_softmax).
void softmax_rows_backward_launch(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols, bool log,
                                  cudaStream_t stream);

}  // namespace legato::kernels
