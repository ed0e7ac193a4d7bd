#pragma once
// The LSTM cell's passes over one time step on the CPU (engine/ops/lstm.cpp), in an unnamed
// namespace on purpose: two files include them, lstm.cpp and lstm_cells_wide.cpp, compiled with
// different vector widths (engine/CMakeLists.txt), and each must keep its own copy (one inline
// definition for both would let the linker pick either). The per-element arithmetic is
// kernels/lstm.h, the same code the CUDA kernels run.
#include <cstdint>
#include <type_traits>

#include "engine/cpu/bf16.h"
#include "kernels/lstm.h"

namespace legato::ops {
namespace {

// Below this many elements a step's pointwise pass stays on one thread (generation, tests).
constexpr int64_t kParallelElements = 16384;

// dst [n] = bf16 bits of src [n]: a row of a product's operand, written by its producer.
inline void bf16_row(const float* src, uint16_t* dst, int64_t n) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) dst[j] = cpu::bf16_bits(src[j]);
}

// One step of the cell over a [B, 4H] block of pre-activations (biases not yet added), in place:
// the block becomes the activated gate cache. c_prev may be null (zeros); c_prev may alias c.
// Rows are split across threads; within a row the loop over units is vectorised (both
// includers are compiled with -ffast-math so that exp and tanh map to glibc's vector math).
// h16 [B, H], when not null (float32 at bf16 precision): h again in bf16, the next step's
// recurrent product's operand, written here instead of rounded there.
template <class T>
void cell_forward(T* gates, const T* bias, const T* c_prev, T* c, T* h, uint16_t* h16, int64_t batch, int64_t hidden) {
#pragma omp parallel for schedule(static) if (batch * hidden >= kParallelElements)
  for (int64_t b = 0; b < batch; ++b) {
    T* gi = gates + b * 4 * hidden;
    T *gf = gi + hidden, *gg = gi + 2 * hidden, *go = gi + 3 * hidden;
    const T* cp = c_prev ? c_prev + b * hidden : nullptr;
    T* cb = c + b * hidden;
    T* hb = h + b * hidden;
#pragma omp simd
    for (int64_t j = 0; j < hidden; ++j) {
      const kernels::LstmGates<T> act =
          kernels::lstm_cell_forward(gi[j] + bias[j], gf[j] + bias[hidden + j], gg[j] + bias[2 * hidden + j],
                                     go[j] + bias[3 * hidden + j], cp ? cp[j] : T(0), &cb[j], &hb[j]);
      gi[j] = act.i;
      gf[j] = act.f;
      gg[j] = act.g;
      go[j] = act.o;
    }
    if constexpr (std::is_same_v<T, float>)
      if (h16) bf16_row(hb, h16 + b * hidden, hidden);
  }
}

// Backward of one step, elementwise: dgates [B, 4H] out; dc carries in and out in place.
// dgates16 [B, 4H], when not null (float32 at bf16 precision): dgates again in bf16, the operand
// of the products that follow (cpu::RoundedOperand::FilledByProducer), written here in the same
// pass instead of rounded in a second one. Rows are split across the threads of the caller's
// parallel region (lstm.cpp opens one per step for the cells and the bias sums after them, so
// that a step costs one fork and join, not two); called outside one, it runs on this thread.
template <class T>
void cell_backward(const T* cache, const T* c_prev, const T* c, const T* dh, T* dc, T* dgates, uint16_t* dgates16,
                   int64_t batch, int64_t hidden) {
#pragma omp for schedule(static)
  for (int64_t b = 0; b < batch; ++b) {
    const T* gi = cache + b * 4 * hidden;
    const T *gf = gi + hidden, *gg = gi + 2 * hidden, *go = gi + 3 * hidden;
    const T* cp = c_prev ? c_prev + b * hidden : nullptr;
    const T* cb = c + b * hidden;
    const T* dhb = dh + b * hidden;
    T* dcb = dc + b * hidden;
    T* di = dgates + b * 4 * hidden;
    T *df = di + hidden, *dg = di + 2 * hidden, *dout = di + 3 * hidden;
#pragma omp simd
    for (int64_t j = 0; j < hidden; ++j) {
      const kernels::LstmGates<T> gates{gi[j], gf[j], gg[j], go[j]};
      const kernels::LstmGates<T> d =
          kernels::lstm_cell_backward(gates, cp ? cp[j] : T(0), cb[j], dhb[j], dcb[j], &dcb[j]);
      di[j] = d.i;
      df[j] = d.f;
      dg[j] = d.g;
      dout[j] = d.o;
    }
    if constexpr (std::is_same_v<T, float>)
      if (dgates16) bf16_row(di, dgates16 + b * 4 * hidden, 4 * hidden);
  }
}

}  // namespace

// cell_forward and cell_backward for float32 at the bf16 precision (h16 and dgates16 not
// null), compiled in 512-bit vectors where the CPU has AVX-512 (lstm_cells_wide.cpp).
void cell_forward_wide(float* gates, const float* bias, const float* c_prev, float* c, float* h, uint16_t* h16,
                       int64_t batch, int64_t hidden);
void cell_backward_wide(const float* cache, const float* c_prev, const float* c, const float* dh, float* dc,
                        float* dgates, uint16_t* dgates16, int64_t batch, int64_t hidden);

}  // namespace legato::ops
