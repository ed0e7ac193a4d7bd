#pragma once
// A stack of LSTM layers on the GPU in chunks of time steps (lstm_wavefront.cpp), in one of two
// orders that issue exactly the same cuBLAS calls and kernel launches on the same data:
//
// - Sequential: everything on one stream, layer after layer (as a stack of single-layer LSTMs runs,
//   but with the input projection of every layer done per chunk of C steps, a GEMM of C*B rows).
// - Wavefront: one stream and one cuBLAS handle (with its own workspace) per layer; layer l+1's
//   chunk c waits (an event) for layer l's chunk c, so layer l+1 runs chunk c while layer l runs
//   chunk c+1. Backward runs the same wavefront from the top layer and the last chunk down.
//
// Every product has the same shape and operands in both orders, so each element goes through the
// same floating-point operations in the same order: the results are bit-identical (cuBLAS
// promises bitwise reproducibility on one stream, and with several streams when each has its own
// handle or workspace: the cuBLAS guide, "Results reproducibility"). The weight gradients stay
// large GEMMs over all T*B rows after the loop, as in lstm_sequence.cpp.
//
// Dropout between layers (inverted, the mask of engine/ops/dropout: element i of layer l's output
// uses Philox(seed, offset + l*T*B*H + i), B and i counted in the whole batch when the stack holds
// a part of it: kernels/batch_slice.h) is fused per chunk on the layer's stream, so the next
// layer reads the dropped output of the chunk as soon as it exists. The stack starts from zero
// states (h0 = c0 = 0), as MusicLSTM's layers do.
#include <cstdint>

#include "kernels/batch_slice.h"

typedef struct CUstream_st* cudaStream_t;
typedef struct cublasContext* cublasHandle_t;

namespace legato::cuda {

enum class LstmStackOrder { Sequential, Wavefront };

struct LstmStackDims {
  int steps, batch, hidden, layers;
  int chunk;                  // C: time steps per chunk (the last chunk may be shorter)
  float dropout;              // p between layers (0: none; the top layer's output is never dropped)
  uint64_t seed, offset;      // the dropout's Philox stream
  kernels::BatchSlice slice;  // the windows of the whole batch the stack holds (slice.local == batch unless whole)
};

// One layer's weights and buffers, device memory owned by the caller; no two buffers alias.
// G = 4H; I_l = the layer's input width.
struct LstmStackLayer {
  int input;                               // I_l: the stack's input width for layer 0, else H
  const float *w_ih, *w_hh, *b_ih, *b_hh;  // [G, I_l], [G, H], [G], [G]
  float *gate_cache, *hs, *cs;             // [T, B, G], [T, B, H], [T, B, H]: written by the forward
  float *dropped, *mask;                   // [T, B, H]: output after dropout and its scaled mask
                                           // (below the top layer when p > 0; else null)
  // Backward only (null in the forward):
  float *dw_ih, *dw_hh, *db;  // += [G, I_l], [G, H], [G] (db: the gradient of each bias)
  float* dgates;              // workspace [T, B, G]
  float *dh, *dc;             // workspace [B, H]: the carries
  float* dx;                  // workspace [T, B, H] for layers above the first: the
                              // gradient reaching the input (the layer below's output)
  float* dy_in;               // workspace [T, B, H] below the top layer when p > 0:
                              // dx of the layer above times this layer's mask
};

// The streams: `main` is where the caller's work is queued (the inputs are ready on it and the
// outputs must be when it goes on); the wavefront forks from it and joins it again. `layer` and
// `layer_blas` (one each per layer, the handle bound to its stream with its own workspace) are
// used by the wavefront only.
struct LstmStackStreams {
  cudaStream_t main;
  cublasHandle_t main_blas;  // bound to main
  const cudaStream_t* layer;
  const cublasHandle_t* layer_blas;
};

// x [T, B, I_0]. Writes every layer's gate_cache, hs, cs (and dropped, mask). The stack's output
// is the top layer's hs.
void lstm_stack_forward_cuda(const LstmStackStreams& s, LstmStackOrder order, const LstmStackDims& d, const float* x,
                             LstmStackLayer* layers);

// dy [T, B, H]: the gradient of the top layer's output (null: none); dh_n [B, H]: of its last
// h (null: none). Adds into every layer's dw_ih, dw_hh and db; writes dx [T, B, I_0] (null: not
// wanted). Needs the forward's buffers untouched.
void lstm_stack_backward_cuda(const LstmStackStreams& s, LstmStackOrder order, const LstmStackDims& d, const float* x,
                              const float* dy, const float* dh_n, float* dx, LstmStackLayer* layers);

}  // namespace legato::cuda
