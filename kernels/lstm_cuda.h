#pragma once
// The LSTM's fused cell kernels on the GPU (lstm.cu, one launch per time step); the whole
// sequence around them is host code (engine/cuda/lstm_sequence.h). All pointers are device memory
// owned by the caller, row-major like the CPU tensors. Every launch is checked.
#include <cstdint>

typedef struct CUstream_st* cudaStream_t;

namespace legato::kernels {

// gates_pre [B, 4H]: input projection + recurrent product for step t, without biases.
// b_ih, b_hh [4H]. c_prev [B, H] (may be null: zeros). Writes gate_cache [B, 4H] (activated
// i, f, g, o), c [B, H] and h [B, H]. gate_cache may alias gates_pre and c may alias c_prev
// (each thread reads its own elements before writing them back); nothing else aliases.
void lstm_cell_forward_launch(const float* gates_pre, const float* b_ih, const float* b_hh, const float* c_prev,
                              float* gate_cache, float* c, float* h, int batch, int hidden, cudaStream_t stream);

// gate_cache [B, 4H], c_prev [B, H] (may be null: zeros), c [B, H], dh [B, H] (the gradient
// carried back from step t+1), dy [B, H] (the output's own gradient at step t; may be null),
// dc_next [B, H] (may be null: zeros). Writes dgates [B, 4H] (pre-activation gradients) and
// dc_prev [B, H]; dc_prev may alias dc_next (each element reads its own carry before writing it).
void lstm_cell_backward_launch(const float* gate_cache, const float* c_prev, const float* c, const float* dh,
                               const float* dy, const float* dc_next, float* dgates, float* dc_prev, int batch,
                               int hidden, cudaStream_t stream);

}  // namespace legato::kernels
