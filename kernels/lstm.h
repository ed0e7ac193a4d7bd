#pragma once
// The LSTM cell's per-element arithmetic, shared by the CPU engine and the CUDA kernels.
// Gate order i, f, g, o (PyTorch, cuDNN and Keras): pre-activations a_i, a_f, a_g, a_o.
//   i = sigmoid(a_i), f = sigmoid(a_f), g = tanh(a_g), o = sigmoid(a_o)
//   c = f * c_prev + i * g,  h = o * tanh(c)
// Below them: the launchers of lstm.cu, for the host code in engine/cuda/ (declarations only, no
// CUDA header needed: the CPU build compiles this file too).
#include <cmath>
#include <cstdint>

#include "hd.h"

typedef struct CUstream_st* cudaStream_t;

namespace legato::kernels {

template <class T>
LEGATO_HD T sigmoid(T x) {
  using std::exp;  // the float overload on the host; CUDA's on the device
  return T(1) / (T(1) + exp(-x));
}

// Activated gates of one (batch, unit) element; kept as the gate cache for backward.
template <class T>
struct LstmGates {
  T i, f, g, o;
};

template <class T>
LEGATO_HD LstmGates<T> lstm_cell_forward(T a_i, T a_f, T a_g, T a_o, T c_prev, T* c_out, T* h_out) {
  using std::tanh;
  LstmGates<T> gates{sigmoid(a_i), sigmoid(a_f), tanh(a_g), sigmoid(a_o)};
  const T c = gates.f * c_prev + gates.i * gates.g;
  *c_out = c;
  *h_out = gates.o * tanh(c);
  return gates;
}

// Gradients of the pre-activations for one element, given the cached gates, the cell states
// c_prev and c, the gradient reaching h (dh) and the cell-state gradient carried back from step
// t+1 (dc_next). Writes the carry for step t-1 into *dc_prev.
template <class T>
LEGATO_HD LstmGates<T> lstm_cell_backward(const LstmGates<T>& gates, T c_prev, T c, T dh, T dc_next, T* dc_prev) {
  using std::tanh;
  const T tc = tanh(c);
  const T dc = dc_next + dh * gates.o * (T(1) - tc * tc);
  *dc_prev = dc * gates.f;
  return LstmGates<T>{dc * gates.g * gates.i * (T(1) - gates.i), dc * c_prev * gates.f * (T(1) - gates.f),
                      dc * gates.i * (T(1) - gates.g * gates.g), dh * tc * gates.o * (T(1) - gates.o)};
}

}  // namespace legato::kernels

// ---- the launchers of lstm.cu, one per time step, behind engine/cuda/lstm.cpp; the whole sequence
// around them is host code (engine/cuda/lstm_sequence.h). Pointers: device memory the caller owns ----
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
