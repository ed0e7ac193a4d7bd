#pragma once
// Launchers of the embedding kernels (embedding.cu), behind engine/cuda/embedding.cpp.
// The conventions of every launcher: kernels/launch.h.
#include <cstdint>

typedef struct CUstream_st* cudaStream_t;

namespace legato::kernels {

// out [count, E] = table[indices] (table [V, E]); backward adds rows back (atomics: repeated
// tokens in one batch add into the same row).
void embedding_forward_launch(const float* table, const int32_t* indices, float* out, int64_t count, int64_t width,
                              cudaStream_t stream);
void embedding_backward_launch(const float* dout, const int32_t* indices, float* dtable, int64_t count, int64_t width,
                               cudaStream_t stream);

}  // namespace legato::kernels
