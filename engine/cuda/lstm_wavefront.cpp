// The stacked LSTM in chunks, sequential or as a wavefront across layers (lstm_wavefront.h).
// Host code only: it orders the same calls in two ways. One function issues a layer's chunk of
// work on a given stream and handle; the two orders differ only in which stream, and in the
// events between streams.
#include "engine/cuda/lstm_wavefront.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "engine/cuda/gemm.h"
#include "engine/cuda/lstm_sequence.h"
#include "kernels/cuda_check.h"
#include "kernels/dropout.h"
#include "kernels/elementwise.h"
#include "kernels/lstm.h"

namespace legato::cuda {
namespace {

struct Chunk {
  int t0, steps;  // time steps [t0, t0 + steps)
};

int chunk_count(const LstmStackDims& d) { return (d.steps + d.chunk - 1) / d.chunk; }
Chunk chunk_at(const LstmStackDims& d, int c) { return {c * d.chunk, std::min(d.chunk, d.steps - c * d.chunk)}; }

size_t at(int t, int rows_per_step, int width) { return static_cast<size_t>(t) * rows_per_step * width; }

bool dropped_below(const LstmStackDims& d, int l) { return d.dropout > 0 && l + 1 < d.layers; }

// Layer l's input [T, B, I_l]: x, or the layer below's output (after its dropout).
const float* input_of(const LstmStackDims& d, const float* x, const LstmStackLayer* layers, int l) {
  if (l == 0) return x;
  return dropped_below(d, l - 1) ? layers[l - 1].dropped : layers[l - 1].hs;
}

// Layer l's forward over one chunk, on `stream` and `blas` (bound to it).
void forward_chunk(cudaStream_t stream, cublasHandle_t blas, const LstmStackDims& d, const float* x,
                   LstmStackLayer* layers, int l, Chunk k) {
  const LstmStackLayer& ly = layers[l];
  const int B = d.batch, H = d.hidden, G = 4 * H, I = ly.input;
  // The chunk's input projection: gate_cache [C*B, G] = input [C*B, I] w_ih^T (the same GEMM in both orders).
  gemm_rm(blas, false, true, k.steps * B, G, I, 1.0f, input_of(d, x, layers, l) + at(k.t0, B, I), I, ly.w_ih, I, 0.0f,
          ly.gate_cache + at(k.t0, B, G), G);
  for (int t = k.t0; t < k.t0 + k.steps; ++t) {
    float* gates = ly.gate_cache + at(t, B, G);
    if (t > 0)  // gates [B, G] += h_{t-1} [B, H] w_hh^T
      gemm_rm(blas, false, true, B, G, H, 1.0f, ly.hs + at(t - 1, B, H), H, ly.w_hh, H, 1.0f, gates, G);
    kernels::lstm_cell_forward_launch(gates, ly.b_ih, ly.b_hh, t > 0 ? ly.cs + at(t - 1, B, H) : nullptr, gates,
                                      ly.cs + at(t, B, H), ly.hs + at(t, B, H), B, H, stream);
  }
  if (dropped_below(d, l)) {  // element i of layer l's output: offset + l*T*B*H + i, in the whole batch
    const size_t first = at(k.t0, B, H);
    const uint64_t chunk_start = d.slice.whole_numel(static_cast<int64_t>(l) * d.steps * B * H + first);
    kernels::dropout_launch(ly.hs + first, ly.dropped + first, ly.mask + first, static_cast<int64_t>(k.steps) * B * H,
                            d.dropout, d.seed, d.offset + chunk_start, {d.slice, H}, stream);
  }
}

// Before layer l's first backward chunk: the carries dh (from dh_n at the top) and dc.
void backward_start(cudaStream_t stream, const LstmStackDims& d, const float* dh_n, LstmStackLayer* layers, int l) {
  const size_t bytes = sizeof(float) * static_cast<size_t>(d.batch) * d.hidden;
  if (l + 1 == d.layers && dh_n)
    LEGATO_CUDA_CHECK(cudaMemcpyAsync(layers[l].dh, dh_n, bytes, cudaMemcpyDeviceToDevice, stream));
  else
    LEGATO_CUDA_CHECK(cudaMemsetAsync(layers[l].dh, 0, bytes, stream));
  LEGATO_CUDA_CHECK(cudaMemsetAsync(layers[l].dc, 0, bytes, stream));
}

// Layer l's backward over one chunk, last step first; then the gradient reaching its input over
// the chunk (for the layer below, times that layer's dropout mask).
void backward_chunk(cudaStream_t stream, cublasHandle_t blas, const LstmStackDims& d, const float* dy,
                    LstmStackLayer* layers, int l, Chunk k) {
  LstmStackLayer& ly = layers[l];
  const int B = d.batch, H = d.hidden, G = 4 * H;
  const float* dy_l = l + 1 == d.layers ? dy : (dropped_below(d, l) ? ly.dy_in : layers[l + 1].dx);
  for (int t = k.t0 + k.steps - 1; t >= k.t0; --t) {
    float* dg = ly.dgates + at(t, B, G);
    kernels::lstm_cell_backward_launch(ly.gate_cache + at(t, B, G), t > 0 ? ly.cs + at(t - 1, B, H) : nullptr,
                                       ly.cs + at(t, B, H), ly.dh, dy_l ? dy_l + at(t, B, H) : nullptr, ly.dc, dg,
                                       ly.dc, B, H, stream);
    if (t > 0)  // dh [B, H] = dgates_t [B, G] w_hh [G, H]
      gemm_rm(blas, false, false, B, H, G, 1.0f, dg, G, ly.w_hh, H, 0.0f, ly.dh, H);
  }
  if (l == 0) return;  // the stack's dx is one GEMM after the loop
  // dx [C*B, H] = dgates [C*B, G] w_ih [G, H]: what layer l-1's chunk needs.
  const size_t first = at(k.t0, B, H);
  gemm_rm(blas, false, false, k.steps * B, H, G, 1.0f, ly.dgates + at(k.t0, B, G), G, ly.w_ih, H, 0.0f, ly.dx + first,
          H);
  if (dropped_below(d, l - 1)) {  // through the dropout: dy_in = dx * mask, elementwise
    kernels::BroadcastGeometry g;
    g.ndim = 1;
    g.out_shape[0] = static_cast<int64_t>(k.steps) * B * H;
    g.stride_a[0] = g.stride_b[0] = 1;
    kernels::broadcast_binary_launch(kernels::BinaryKind::Mul, ly.dx + first, layers[l - 1].mask + first,
                                     layers[l - 1].dy_in + first, g, stream);
  }
}

// After layer l's last backward chunk: the weight gradients over all T*B rows at once.
void backward_finish(cudaStream_t stream, cublasHandle_t blas, const LstmStackDims& d, const float* x, float* dx,
                     LstmStackLayer* layers, int l) {
  LstmStackLayer& ly = layers[l];
  const int B = d.batch, H = d.hidden, G = 4 * H, I = ly.input, rows = d.steps * B;
  const float* in = input_of(d, x, layers, l);
  gemm_rm(blas, true, false, G, I, rows, 1.0f, ly.dgates, G, in, I, 1.0f, ly.dw_ih, I);
  if (d.steps > 1)
    gemm_rm(blas, true, false, G, H, rows - B, 1.0f, ly.dgates + at(1, B, G), G, ly.hs, H, 1.0f, ly.dw_hh, H);
  add_column_sums(ly.dgates, ly.db, rows, G, stream);
  if (l == 0 && dx) gemm_rm(blas, false, false, rows, I, G, 1.0f, ly.dgates, G, ly.w_ih, I, 0.0f, dx, I);
}

// The wavefront's events: created for one call, destroyed at its end (CUDA frees an event once
// its pending record completes).
struct Events {
  std::vector<cudaEvent_t> e;
  explicit Events(size_t n) : e(n, nullptr) {
    for (cudaEvent_t& ev : e) LEGATO_CUDA_CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
  }
  ~Events() {
    for (cudaEvent_t ev : e)
      if (ev) cudaEventDestroy(ev);  // not checked: a destructor must not throw
  }
  cudaEvent_t operator[](size_t i) const { return e[i]; }
};

// The layer streams start after everything queued on main so far.
void fork(const LstmStackStreams& s, const LstmStackDims& d, const Events& ev) {
  LEGATO_CUDA_CHECK(cudaEventRecord(ev[0], s.main));
  for (int l = 0; l < d.layers; ++l) LEGATO_CUDA_CHECK(cudaStreamWaitEvent(s.layer[l], ev[0], 0));
}
// main goes on after every layer stream's work.
void join(const LstmStackStreams& s, const LstmStackDims& d, const Events& ev) {
  for (int l = 0; l < d.layers; ++l) {
    LEGATO_CUDA_CHECK(cudaEventRecord(ev[1 + l], s.layer[l]));
    LEGATO_CUDA_CHECK(cudaStreamWaitEvent(s.main, ev[1 + l], 0));
  }
}

void check_dims(const LstmStackDims& d) {
  if (d.steps < 1 || d.batch < 0 || d.hidden < 1 || d.layers < 1 || d.chunk < 1)
    throw std::invalid_argument("lstm_stack: steps, hidden, layers and chunk must be positive, batch not negative");
}

}  // namespace

void lstm_stack_forward_cuda(const LstmStackStreams& s, LstmStackOrder order, const LstmStackDims& d, const float* x,
                             LstmStackLayer* layers) {
  check_dims(d);
  const int chunks = chunk_count(d);
  if (order == LstmStackOrder::Sequential) {
    LEGATO_CUBLAS_CHECK(cublasSetStream(s.main_blas, s.main));
    for (int l = 0; l < d.layers; ++l)
      for (int c = 0; c < chunks; ++c) forward_chunk(s.main, s.main_blas, d, x, layers, l, chunk_at(d, c));
    return;
  }
  // Events: 0 the fork, 1..L the joins, L+1..2L each layer's latest finished chunk (a wait takes
  // the event's latest record when it is queued, so one event per layer serves every chunk).
  const Events ev(1 + 2 * static_cast<size_t>(d.layers));
  fork(s, d, ev);
  for (int c = 0; c < chunks; ++c)
    for (int l = 0; l < d.layers; ++l) {
      // Layer l's chunk c reads layer l-1's chunk c.
      if (l > 0) LEGATO_CUDA_CHECK(cudaStreamWaitEvent(s.layer[l], ev[1 + d.layers + l - 1], 0));
      forward_chunk(s.layer[l], s.layer_blas[l], d, x, layers, l, chunk_at(d, c));
      LEGATO_CUDA_CHECK(cudaEventRecord(ev[1 + d.layers + l], s.layer[l]));
    }
  join(s, d, ev);
}

void lstm_stack_backward_cuda(const LstmStackStreams& s, LstmStackOrder order, const LstmStackDims& d, const float* x,
                              const float* dy, const float* dh_n, float* dx, LstmStackLayer* layers) {
  check_dims(d);
  const int chunks = chunk_count(d);
  if (order == LstmStackOrder::Sequential) {
    LEGATO_CUBLAS_CHECK(cublasSetStream(s.main_blas, s.main));
    for (int l = d.layers - 1; l >= 0; --l) {
      backward_start(s.main, d, dh_n, layers, l);
      for (int c = chunks - 1; c >= 0; --c) backward_chunk(s.main, s.main_blas, d, dy, layers, l, chunk_at(d, c));
      backward_finish(s.main, s.main_blas, d, x, dx, layers, l);
    }
    return;
  }
  const Events ev(1 + 2 * static_cast<size_t>(d.layers));
  fork(s, d, ev);
  for (int l = 0; l < d.layers; ++l) backward_start(s.layer[l], d, dh_n, layers, l);
  for (int c = chunks - 1; c >= 0; --c)
    for (int l = d.layers - 1; l >= 0; --l) {
      // Layer l's chunk c reads the gradient that layer l+1's chunk c sent down.
      if (l + 1 < d.layers) LEGATO_CUDA_CHECK(cudaStreamWaitEvent(s.layer[l], ev[1 + d.layers + l + 1], 0));
      backward_chunk(s.layer[l], s.layer_blas[l], d, dy, layers, l, chunk_at(d, c));
      LEGATO_CUDA_CHECK(cudaEventRecord(ev[1 + d.layers + l], s.layer[l]));
    }
  // Each layer's weight gradients on its own stream, overlapping the layers below.
  for (int l = 0; l < d.layers; ++l) backward_finish(s.layer[l], s.layer_blas[l], d, x, dx, layers, l);
  join(s, d, ev);
}

}  // namespace legato::cuda
