#pragma once
// The LSTM cell's per-element arithmetic, shared by the CPU engine and the CUDA kernels.
// Gate order i, f, g, o (PyTorch, cuDNN and Keras): pre-activations a_i, a_f, a_g, a_o.
//   i = sigmoid(a_i), f = sigmoid(a_f), g = tanh(a_g), o = sigmoid(a_o)
//   c = f * c_prev + i * g,  h = o * tanh(c)
#include <cmath>

#include "hd.h"

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
