// The LSTM cells' passes for float32 at the bf16 precision (engine/ops/lstm_cells.h), compiled
// with 512-bit vectors on AVX-512 CPUs (engine/CMakeLists.txt). GCC's -march=native prefers
// 256-bit vectors there (for older Xeons' clocks): 8 lanes calling libmvec's AVX2 exp and tanh;
// here 16 lanes call its AVX-512 ones, which halved their share of the seed network's bf16 step
// (perf: 3.2% to 1.7%; bench/results/cpu.md). lstm.cpp keeps 256-bit vectors for float32
// products: libmvec's AVX-512 tanh rounds some values differently, and fp32 training stays bit
// for bit what it was.
#include "engine/ops/lstm_cells.h"

namespace legato::ops {

void cell_forward_wide(float* gates, const float* bias, const float* c_prev, float* c, float* h, uint16_t* h16,
                       int64_t batch, int64_t hidden) {
  cell_forward(gates, bias, c_prev, c, h, h16, batch, hidden);
}

void cell_backward_wide(const float* cache, const float* c_prev, const float* c, const float* dh, const float* gy,
                        float* dc, float* dgates, uint16_t* dgates16, int64_t batch, int64_t hidden) {
  cell_backward(cache, c_prev, c, dh, gy, dc, dgates, dgates16, batch, hidden);
}

void cell_forward_units_wide(float* gates, const float* rec, const float* bias, const float* c_prev, float* c, float* h,
                             uint16_t* h16, int64_t batch, int64_t hidden, int64_t u0, int64_t u1) {
  cell_forward_units(gates, rec, bias, c_prev, c, h, h16, batch, hidden, u0, u1);
}

void cell_backward_units_wide(const float* cache, const float* c_prev, const float* c, const float* dh,
                              int64_t dh_stride, const float* gy, float* dc, float* dgates, uint16_t* dgates16,
                              int64_t batch, int64_t hidden, int64_t u0, int64_t u1) {
  cell_backward_units(cache, c_prev, c, dh, dh_stride, gy, dc, dgates, dgates16, batch, hidden, u0, u1);
}

}  // namespace legato::ops
