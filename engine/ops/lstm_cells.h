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

// The gate cache at bf16 (float32 with bf16 products): each row [4H] keeps its activated gates
// in bf16, two to a float32's place, over the pre-activations they were made from: unit u's i and
// f in the i block's word u, its g and o in the g block's word u (the f and o blocks keep their
// pre-activations, unread after the forward). The cells' passes over the cache wait on memory
// more than on arithmetic: this way the forward writes back half the lines it read (the others
// stay clean) and the backward reads half of them, 26 MB of 52 a layer fewer each way in the seed
// network, with no buffer besides; the gates' rounding stays within the bf16 gradients' tested
// bound (tests/test_products.cpp). A word of gate bits may alias the float it replaces (may_alias).
using GatePair = uint32_t __attribute__((may_alias));
[[gnu::always_inline]] inline GatePair gate_pair(float low, float high) {
  return uint32_t{cpu::bf16_bits(low)} | uint32_t{cpu::bf16_bits(high)} << 16;
}
[[gnu::always_inline]] inline float pair_low(GatePair pair) { return cpu::bf16_value(static_cast<uint16_t>(pair)); }
[[gnu::always_inline]] inline float pair_high(GatePair pair) {
  return cpu::bf16_value(static_cast<uint16_t>(pair >> 16));
}

// Asks for the cache lines of [p, p + n floats) ahead of their use (kWrite: to be written too).
// The time-loop region's forward cells at bf16 ask for the pre-activations kPrefetchRows rows
// ahead while they compute this row: waiting for them from memory was most of the cells' time
// (perf annotate), now overlapped with the arithmetic (their share of the seed network's bf16 step
// went from about 9% to 7%: bench/results/cpu.md). The backward's cells gained nothing from the
// same (tried: their gates, states and bf16 gradients ahead) and ask for none; nor did asking for
// the forward's c, h and h16 rows ahead.
template <bool kWrite>
[[gnu::always_inline]] inline void prefetch_floats(const float* p, int64_t n) {
  for (int64_t k = 0; k < n; k += 16) __builtin_prefetch(p + k, kWrite ? 1 : 0, 3);
}
// How many rows ahead: enough for a row's loads to arrive while two rows are computed.
constexpr int64_t kPrefetchRows = 2;

// One row of the cell at bf16 (float32 with bf16 products) over units [u0, u1), in one pass: gi
// [4H], the row's pre-activations (biases not yet added), becomes its gate cache in bf16 (GatePair);
// with kRec, rb [4·(u1 − u0)] (gate by gate) is the time-loop region's slice of the recurrent
// product, added as the pre-activations are read (the per-step path has added it into gi already);
// c_prev row cp may be null (zeros) and may alias c's row cb; h16b [H]: h's row again in bf16, the
// next step's recurrent product's operand, written here instead of rounded there. fp32 keeps its
// own passes (cell_forward_row, cell_forward_units): a different loop body may be compiled with
// other contractions under -ffast-math, and its results must stay bit for bit what they were.
template <bool kRec>
[[gnu::always_inline]] inline void cell_forward_row_bf16(float* gi, const float* rb, const float* bias, const float* cp,
                                                         float* cb, float* hb, uint16_t* h16b, int64_t hidden,
                                                         int64_t u0, int64_t u1) {
  const int64_t units = u1 - u0;  // pointers at u0 and a loop from 0, as cell_forward_row's
  float *ui = gi + u0, *uf = gi + hidden + u0, *ug = gi + 2 * hidden + u0, *uo = gi + 3 * hidden + u0;
  const float *bi = bias + u0, *bf = bias + hidden + u0, *bg = bias + 2 * hidden + u0, *bo = bias + 3 * hidden + u0;
  const float *ri = rb, *rf = kRec ? rb + units : nullptr, *rg = kRec ? rb + 2 * units : nullptr,
              *ro = kRec ? rb + 3 * units : nullptr;
  const float* up = cp ? cp + u0 : nullptr;
  float *uc = cb + u0, *uh = hb + u0;
  uint16_t* uh16 = h16b + u0;
  GatePair *if_pairs = reinterpret_cast<GatePair*>(ui), *go_pairs = reinterpret_cast<GatePair*>(ug);
#pragma omp simd
  for (int64_t j = 0; j < units; ++j) {
    float a_i = ui[j], a_f = uf[j], a_g = ug[j], a_o = uo[j];
    if constexpr (kRec) {
      a_i += ri[j];
      a_f += rf[j];
      a_g += rg[j];
      a_o += ro[j];
    }
    const kernels::LstmGates<float> act = kernels::lstm_cell_forward(a_i + bi[j], a_f + bf[j], a_g + bg[j], a_o + bo[j],
                                                                     up ? up[j] : 0.0f, &uc[j], &uh[j]);
    if_pairs[j] = gate_pair(act.i, act.f);
    go_pairs[j] = gate_pair(act.g, act.o);
    uh16[j] = cpu::bf16_bits(uh[j]);
  }
}

// One row of the cell over units [u0, u1), in place: gi [4H], the row's pre-activations (biases
// not yet added), becomes its activated gates; c_prev row cp may be null (zeros) and may alias
// c's row cb; h16b, when not null (float32 at bf16 precision): h's row again in bf16, and the gates
// in bf16 (cell_forward_row_bf16). The loop over units is vectorised (both includers are compiled
// with -ffast-math so that exp and tanh map to glibc's vector math).
template <class T>
[[gnu::always_inline]] inline void cell_forward_row(T* gi, const T* bias, const T* cp, T* cb, T* hb, uint16_t* h16b,
                                                    int64_t hidden, int64_t u0, int64_t u1) {
  if constexpr (std::is_same_v<T, float>)
    if (h16b) return cell_forward_row_bf16<false>(gi, nullptr, bias, cp, cb, hb, h16b, hidden, u0, u1);
  // Pointers to unit u0 and a loop from 0, so that every slice's loop is compiled as the whole
  // row's: a loop from u0 may peel its first units onto scalar exp and tanh, which round
  // differently from libmvec's vector ones.
  T *ui = gi + u0, *uf = gi + hidden + u0, *ug = gi + 2 * hidden + u0, *uo = gi + 3 * hidden + u0;
  const T *bi = bias + u0, *bf = bias + hidden + u0, *bg = bias + 2 * hidden + u0, *bo = bias + 3 * hidden + u0;
  const T* up = cp ? cp + u0 : nullptr;
  T *uc = cb + u0, *uh = hb + u0;
#pragma omp simd
  for (int64_t j = 0; j < u1 - u0; ++j) {
    const kernels::LstmGates<T> act = kernels::lstm_cell_forward(ui[j] + bi[j], uf[j] + bf[j], ug[j] + bg[j],
                                                                 uo[j] + bo[j], up ? up[j] : T(0), &uc[j], &uh[j]);
    ui[j] = act.i;
    uf[j] = act.f;
    ug[j] = act.g;
    uo[j] = act.o;
  }
}

// One step of the cell over a [B, 4H] block of pre-activations (biases not yet added), in place:
// the block becomes the activated gate cache (in bf16 where h16 is given: GatePair). c_prev may
// be null (zeros); c_prev may alias c. Rows are split across threads. h16 [B, H], when not null:
// h again in bf16 (cell_forward_row).
template <class T>
void cell_forward(T* gates, const T* bias, const T* c_prev, T* c, T* h, uint16_t* h16, int64_t batch, int64_t hidden) {
#pragma omp parallel for schedule(static) if (batch * hidden >= kParallelElements)
  for (int64_t b = 0; b < batch; ++b)
    cell_forward_row(gates + b * 4 * hidden, bias, c_prev ? c_prev + b * hidden : nullptr, c + b * hidden,
                     h + b * hidden, h16 ? h16 + b * hidden : nullptr, hidden, 0, hidden);
}

// The same step made by one thread of the LSTM's time-loop region on its own units [u0, u1) of
// every row (engine/ops/lstm.cpp): rec [B, 4·(u1 − u0)], when not null, is its slice of the
// recurrent product, gate by gate, added to the gates' pre-activations first, in a pass of its
// own at fp32, so that its results stay bit for bit the per-step path's (a fused loop is another
// loop body, which -ffast-math may contract and reassociate otherwise); in the cells' one pass at
// bf16 (cell_forward_row_bf16).
template <class T>
void cell_forward_units(T* gates, const T* rec, const T* bias, const T* c_prev, T* c, T* h, uint16_t* h16,
                        int64_t batch, int64_t hidden, int64_t u0, int64_t u1) {
  const int64_t units = u1 - u0;
  for (int64_t b = 0; b < batch; ++b) {
    T* gi = gates + b * 4 * hidden;
    if constexpr (std::is_same_v<T, float>)
      if (rec && h16) {
        if (b + kPrefetchRows < batch) {  // that row's pre-activations: its i and g blocks are written
          const float* ahead = gi + kPrefetchRows * 4 * hidden + u0;
          for (int64_t g = 0; g < 4; ++g)
            g % 2 == 0 ? prefetch_floats<true>(ahead + g * hidden, units)
                       : prefetch_floats<false>(ahead + g * hidden, units);
        }
        cell_forward_row_bf16<true>(gi, rec + b * 4 * units, bias, c_prev ? c_prev + b * hidden : nullptr,
                                    c + b * hidden, h + b * hidden, h16 + b * hidden, hidden, u0, u1);
        continue;
      }
    if (rec)
      for (int64_t g = 0; g < 4; ++g) {
        T* row = gi + g * hidden + u0;
        const T* r = rec + (b * 4 + g) * units;
#pragma omp simd
        for (int64_t j = 0; j < units; ++j) row[j] += r[j];
      }
    cell_forward_row(gi, bias, c_prev ? c_prev + b * hidden : nullptr, c + b * hidden, h + b * hidden,
                     h16 ? h16 + b * hidden : nullptr, hidden, u0, u1);
  }
}

// The gradient reaching h at unit j of a row in the backward's cells: udh[j], the gradient from
// step t+1, plus ugy[j] (y_t's own) with kGy, added as it is read rather than in a pass of its own
// over dh; the time-loop region's udh is its recurrent product's slice where the product left it.
template <bool kGy, class T>
[[gnu::always_inline]] inline T dh_at(const T* udh, const T* ugy, int64_t j) {
  if constexpr (kGy) return udh[j] + ugy[j];
  return udh[j];
}

// cell_backward_row at bf16 (float32 with bf16 products): the gate cache gi [4H] is bf16's
// (GatePair), read from its i and g blocks only; di16 [4H]: the gate gradients in bf16, the
// operand of the products that follow (cpu::RoundedOperand::FilledByProducer), written here
// instead of rounded in a second pass; with kFloat, di [4H] gets them in float32 as well, for a
// product that reads them (GateGradients, engine/ops/lstm.cpp).
template <bool kFloat, bool kGy>
[[gnu::always_inline]] inline void cell_backward_row_bf16(const float* gi, const float* cp, const float* cb,
                                                          const float* udh, const float* ugy, float* dcb, float* di,
                                                          uint16_t* di16, int64_t hidden, int64_t u0, int64_t u1) {
  // From unit u0 on, with a loop from 0, as cell_forward_row's.
  const GatePair *if_pairs = reinterpret_cast<const GatePair*>(gi + u0),
                 *go_pairs = reinterpret_cast<const GatePair*>(gi + 2 * hidden + u0);
  const float *up = cp ? cp + u0 : nullptr, *uc = cb + u0;
  float* udc = dcb + u0;
  float *di_i = kFloat ? di + u0 : nullptr, *di_f = kFloat ? di + hidden + u0 : nullptr,
        *di_g = kFloat ? di + 2 * hidden + u0 : nullptr, *di_o = kFloat ? di + 3 * hidden + u0 : nullptr;
  uint16_t *d16_i = di16 + u0, *d16_f = di16 + hidden + u0, *d16_g = di16 + 2 * hidden + u0,
           *d16_o = di16 + 3 * hidden + u0;
#pragma omp simd
  for (int64_t j = 0; j < u1 - u0; ++j) {
    const GatePair if_pair = if_pairs[j], go_pair = go_pairs[j];
    const kernels::LstmGates<float> gates{pair_low(if_pair), pair_high(if_pair), pair_low(go_pair), pair_high(go_pair)};
    const kernels::LstmGates<float> d =
        kernels::lstm_cell_backward(gates, up ? up[j] : 0.0f, uc[j], dh_at<kGy>(udh, ugy, j), udc[j], &udc[j]);
    if constexpr (kFloat) {
      di_i[j] = d.i;
      di_f[j] = d.f;
      di_g[j] = d.g;
      di_o[j] = d.o;
    }
    d16_i[j] = cpu::bf16_bits(d.i);
    d16_f[j] = cpu::bf16_bits(d.f);
    d16_g[j] = cpu::bf16_bits(d.g);
    d16_o[j] = cpu::bf16_bits(d.o);
  }
}

// Backward of one row over units [u0, u1), elementwise: the row's gate cache gi [4H] in, its
// gate gradients di [4H] out, dcb carries in and out in place; udh [u1 − u0]: the gradient
// reaching h at these units (dh_at: with kGy, plus ugy's). di16 [4H], when not null (float32 at
// bf16 precision): the row runs as cell_backward_row_bf16, di then null where no product reads
// its float32 elements.
template <bool kGy, class T>
[[gnu::always_inline]] inline void cell_backward_row(const T* gi, const T* cp, const T* cb, const T* udh, const T* ugy,
                                                     T* dcb, T* di, uint16_t* di16, int64_t hidden, int64_t u0,
                                                     int64_t u1) {
  if constexpr (std::is_same_v<T, float>)
    if (di16)
      return di ? cell_backward_row_bf16<true, kGy>(gi, cp, cb, udh, ugy, dcb, di, di16, hidden, u0, u1)
                : cell_backward_row_bf16<false, kGy>(gi, cp, cb, udh, ugy, dcb, di, di16, hidden, u0, u1);
  // From unit u0 on, with a loop from 0, as cell_forward_row's.
  const T *ui = gi + u0, *uf = gi + hidden + u0, *ug = gi + 2 * hidden + u0, *uo = gi + 3 * hidden + u0;
  const T *up = cp ? cp + u0 : nullptr, *uc = cb + u0;
  T* udc = dcb + u0;
  T *di_i = di + u0, *di_f = di + hidden + u0, *di_g = di + 2 * hidden + u0, *di_o = di + 3 * hidden + u0;
#pragma omp simd
  for (int64_t j = 0; j < u1 - u0; ++j) {
    const kernels::LstmGates<T> gates{ui[j], uf[j], ug[j], uo[j]};
    const kernels::LstmGates<T> d =
        kernels::lstm_cell_backward(gates, up ? up[j] : T(0), uc[j], dh_at<kGy>(udh, ugy, j), udc[j], &udc[j]);
    di_i[j] = d.i;
    di_f[j] = d.f;
    di_g[j] = d.g;
    di_o[j] = d.o;
  }
}

// cell_backward_row on row b of a step over units [u0, u1): cache [B, 4H], c_prev (or null), c
// and dc [B, H], dgates and dgates16 [B, 4H] (either may be null, as cell_backward_row's); udh:
// the row's gradient from step t+1 at unit u0; gy [B, H] or null: y_t's gradient, added to it.
template <class T>
[[gnu::always_inline]] inline void cell_backward_row_of(int64_t b, const T* cache, const T* c_prev, const T* c,
                                                        const T* udh, const T* gy, T* dc, T* dgates, uint16_t* dgates16,
                                                        int64_t hidden, int64_t u0, int64_t u1) {
  const T* cp = c_prev ? c_prev + b * hidden : nullptr;
  T* di = dgates ? dgates + b * 4 * hidden : nullptr;
  uint16_t* di16 = dgates16 ? dgates16 + b * 4 * hidden : nullptr;
  if (gy)
    return cell_backward_row<true>(cache + b * 4 * hidden, cp, c + b * hidden, udh, gy + b * hidden + u0,
                                   dc + b * hidden, di, di16, hidden, u0, u1);
  cell_backward_row<false>(cache + b * 4 * hidden, cp, c + b * hidden, udh, static_cast<const T*>(nullptr),
                           dc + b * hidden, di, di16, hidden, u0, u1);
}

// Backward of one step, elementwise: dgates [B, 4H] out (null at bf16 where no product reads
// it); dh [B, H] in, the gradient reaching h_t from step t+1, and gy [B, H] or null, y_t's own,
// added to it here (dh_at); dc carries in and out in place; dgates16 [B, 4H] as cell_backward_row's.
// Rows are split across the threads of the caller's parallel region (lstm.cpp opens one per step
// for the cells and the bias sums after them, so that a step costs one fork and join, not two);
// called outside one, it runs on this thread.
template <class T>
void cell_backward(const T* cache, const T* c_prev, const T* c, const T* dh, const T* gy, T* dc, T* dgates,
                   uint16_t* dgates16, int64_t batch, int64_t hidden) {
#pragma omp for schedule(static)
  for (int64_t b = 0; b < batch; ++b)
    cell_backward_row_of(b, cache, c_prev, c, dh + b * hidden, gy, dc, dgates, dgates16, hidden, 0, hidden);
}

// The same step made by one thread of the LSTM's time-loop region on its own units [u0, u1) of
// every row (engine/ops/lstm.cpp), with the gradient from step t+1 taken where it lies: row b's
// at dh + b · dh_stride (the thread's recurrent product [B, u1 − u0], or the carried dh [B, H] from
// its unit u0).
template <class T>
void cell_backward_units(const T* cache, const T* c_prev, const T* c, const T* dh, int64_t dh_stride, const T* gy,
                         T* dc, T* dgates, uint16_t* dgates16, int64_t batch, int64_t hidden, int64_t u0, int64_t u1) {
  for (int64_t b = 0; b < batch; ++b)
    cell_backward_row_of(b, cache, c_prev, c, dh + b * dh_stride, gy, dc, dgates, dgates16, hidden, u0, u1);
}

}  // namespace

// cell_forward and cell_backward (and their _units forms) for float32 at the bf16 precision (h16
// and dgates16 not null), compiled in 512-bit vectors where the CPU has AVX-512 (lstm_cells_wide.cpp).
void cell_forward_wide(float* gates, const float* bias, const float* c_prev, float* c, float* h, uint16_t* h16,
                       int64_t batch, int64_t hidden);
void cell_backward_wide(const float* cache, const float* c_prev, const float* c, const float* dh, const float* gy,
                        float* dc, float* dgates, uint16_t* dgates16, int64_t batch, int64_t hidden);
void cell_forward_units_wide(float* gates, const float* rec, const float* bias, const float* c_prev, float* c, float* h,
                             uint16_t* h16, int64_t batch, int64_t hidden, int64_t u0, int64_t u1);
void cell_backward_units_wide(const float* cache, const float* c_prev, const float* c, const float* dh,
                              int64_t dh_stride, const float* gy, float* dc, float* dgates, uint16_t* dgates16,
                              int64_t batch, int64_t hidden, int64_t u0, int64_t u1);

}  // namespace legato::ops
