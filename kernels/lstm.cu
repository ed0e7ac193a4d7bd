// The LSTM's fused cell kernels (its whole-sequence orchestration on cuBLAS: engine/cuda/lstm_sequence.cpp): one thread
// per (batch, unit) element, running the same per-element body (lstm.h) that the CPU engine runs.
#include "grid.h"
#include "launch.h"
#include "lstm.h"

namespace legato::kernels {
namespace {

// gates_pre and gate_cache may be the same buffer, and so may c_prev and c (generation updates
// the state in place): no __restrict__ on them.
__global__ void lstm_cell_forward_kernel(const float* gates_pre, const float* __restrict__ b_ih,
                                         const float* __restrict__ b_hh, const float* c_prev, float* gate_cache,
                                         float* c, float* __restrict__ h, int batch, int hidden) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= batch * hidden) return;
  const int b = idx / hidden, j = idx % hidden;
  const float* row = gates_pre + static_cast<size_t>(b) * 4 * hidden;
  float a[4];
  for (int k = 0; k < 4; ++k) a[k] = row[k * hidden + j] + b_ih[k * hidden + j] + b_hh[k * hidden + j];
  const LstmGates<float> gates =
      lstm_cell_forward(a[0], a[1], a[2], a[3], c_prev ? c_prev[idx] : 0.0f, &c[idx], &h[idx]);
  float* cache = gate_cache + static_cast<size_t>(b) * 4 * hidden;
  cache[j] = gates.i;
  cache[hidden + j] = gates.f;
  cache[2 * hidden + j] = gates.g;
  cache[3 * hidden + j] = gates.o;
}

__global__ void lstm_cell_backward_kernel(const float* __restrict__ gate_cache, const float* __restrict__ c_prev,
                                          const float* __restrict__ c, const float* __restrict__ dh,
                                          const float* __restrict__ dy, const float* dc_next,
                                          float* __restrict__ dgates, float* dc_prev, int batch, int hidden) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= batch * hidden) return;
  const int b = idx / hidden, j = idx % hidden;
  const float* cache = gate_cache + static_cast<size_t>(b) * 4 * hidden;
  const LstmGates<float> gates{cache[j], cache[hidden + j], cache[2 * hidden + j], cache[3 * hidden + j]};
  float carry;
  const float dh_total = dh[idx] + (dy ? dy[idx] : 0.0f);
  const LstmGates<float> d =
      lstm_cell_backward(gates, c_prev ? c_prev[idx] : 0.0f, c[idx], dh_total, dc_next ? dc_next[idx] : 0.0f, &carry);
  dc_prev[idx] = carry;
  float* out = dgates + static_cast<size_t>(b) * 4 * hidden;
  out[j] = d.i;
  out[hidden + j] = d.f;
  out[2 * hidden + j] = d.g;
  out[3 * hidden + j] = d.o;
}

}  // namespace

void lstm_cell_forward_launch(const float* gates_pre, const float* b_ih, const float* b_hh, const float* c_prev,
                              float* gate_cache, float* c, float* h, int batch, int hidden, cudaStream_t stream) {
  if (batch * hidden == 0) return;  // an empty state: nothing to do (a grid of 0 blocks is an error)
  LEGATO_LAUNCH(lstm_cell_forward_kernel, blocks_for(batch * hidden), kThreads, 0, stream, gates_pre, b_ih, b_hh,
                c_prev, gate_cache, c, h, batch, hidden);
}

void lstm_cell_backward_launch(const float* gate_cache, const float* c_prev, const float* c, const float* dh,
                               const float* dy, const float* dc_next, float* dgates, float* dc_prev, int batch,
                               int hidden, cudaStream_t stream) {
  if (batch * hidden == 0) return;
  LEGATO_LAUNCH(lstm_cell_backward_kernel, blocks_for(batch * hidden), kThreads, 0, stream, gate_cache, c_prev, c, dh,
                dy, dc_next, dgates, dc_prev, batch, hidden);
}

}  // namespace legato::kernels
