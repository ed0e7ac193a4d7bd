#pragma once
// Launcher of the block-add kernel (shape.cu), behind engine/cuda/shape.cpp.
// The conventions of every launcher: kernels/launch.h.
#include <cstdint>

typedef struct CUstream_st* cudaStream_t;

namespace legato::kernels {

// dst[r * dst_pitch + c] += src[r * src_pitch + c] for r < rows, c < cols (pitches in elements):
// the backward of a slice or of one part of a concatenation.
void add_2d_launch(float* dst, int64_t dst_pitch, const float* src, int64_t src_pitch, int64_t rows, int64_t cols,
                   cudaStream_t stream);

}  // namespace legato::kernels
