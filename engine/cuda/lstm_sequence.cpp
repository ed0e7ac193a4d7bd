// The sequence-level LSTM on the GPU (see lstm_sequence.h): cuBLAS for the products, the
// fused cell kernels (kernels/lstm.cu) for the pointwise work. Host code only: it orders the calls.
#include "engine/cuda/lstm_sequence.h"

#include <cublas_v2.h>

#include "engine/cuda/gemm.h"
#include "kernels/cuda_check.h"
#include "kernels/elementwise.h"
#include "kernels/lstm.h"

namespace legato::cuda {

// The broadcast gradient's kernel does it, with many threads per column adding partial sums in a
// fixed tree (deterministic, no atomics, and the whole GPU busy at T*B = 6400 rows).
void add_column_sums(const float* m, float* db, int rows, int cols, cudaStream_t stream) {
  kernels::BroadcastGeometry g;
  g.ndim = 2;
  g.out_shape[0] = rows;
  g.out_shape[1] = cols;
  g.stride_a[1] = 1;  // db is read along the columns and broadcast along the rows
  kernels::broadcast_grad_launch(m, nullptr, db, cols, g, stream);
}

void lstm_forward_cuda(cublasHandle_t blas, cudaStream_t stream, const LstmDims& d, const float* x, const float* h0,
                       const float* c0, const float* w_ih, const float* w_hh, const float* b_ih, const float* b_hh,
                       float* gate_cache, float* hs, float* cs) {
  const int G = 4 * d.hidden, BH = d.batch * d.hidden;
  LEGATO_CUBLAS_CHECK(cublasSetStream(blas, stream));
  // The input projection of every step at once: gate_cache [T*B, 4H] = x [T*B, I] w_ih^T.
  gemm_rm(blas, false, true, d.steps * d.batch, G, d.input, 1.0f, x, d.input, w_ih, d.input, 0.0f, gate_cache, G);
  for (int t = 0; t < d.steps; ++t) {
    float* gates = gate_cache + static_cast<size_t>(t) * d.batch * G;
    const float* h_prev = t > 0 ? hs + static_cast<size_t>(t - 1) * BH : h0;
    const float* c_prev = t > 0 ? cs + static_cast<size_t>(t - 1) * BH : c0;
    if (h_prev)
      gemm_rm(blas, false, true, d.batch, G, d.hidden, 1.0f, h_prev, d.hidden, w_hh, d.hidden, 1.0f, gates, G);
    kernels::lstm_cell_forward_launch(gates, b_ih, b_hh, c_prev, gates, cs + static_cast<size_t>(t) * BH,
                                      hs + static_cast<size_t>(t) * BH, d.batch, d.hidden, stream);
  }
}

void lstm_backward_cuda(cublasHandle_t blas, cudaStream_t stream, const LstmDims& d, const float* x, const float* h0,
                        const float* c0, const float* w_ih, const float* w_hh, const float* gate_cache, const float* hs,
                        const float* cs, const float* dy, const float* dh_n, const float* dc_n, float* dx, float* dh0,
                        float* dc0, float* dw_ih, float* dw_hh, float* db, float* dgates, float* dh, float* dc) {
  const int G = 4 * d.hidden, BH = d.batch * d.hidden, rows = d.steps * d.batch;
  const size_t state_bytes = sizeof(float) * static_cast<size_t>(BH);
  LEGATO_CUBLAS_CHECK(cublasSetStream(blas, stream));
  if (dh_n)
    LEGATO_CUDA_CHECK(cudaMemcpyAsync(dh, dh_n, state_bytes, cudaMemcpyDeviceToDevice, stream));
  else
    LEGATO_CUDA_CHECK(cudaMemsetAsync(dh, 0, state_bytes, stream));
  if (dc_n)
    LEGATO_CUDA_CHECK(cudaMemcpyAsync(dc, dc_n, state_bytes, cudaMemcpyDeviceToDevice, stream));
  else
    LEGATO_CUDA_CHECK(cudaMemsetAsync(dc, 0, state_bytes, stream));
  for (int t = d.steps - 1; t >= 0; --t) {
    float* dg = dgates + static_cast<size_t>(t) * d.batch * G;
    const float* c_prev = t > 0 ? cs + static_cast<size_t>(t - 1) * BH : c0;
    kernels::lstm_cell_backward_launch(
        gate_cache + static_cast<size_t>(t) * d.batch * G, c_prev, cs + static_cast<size_t>(t) * BH, dh,
        dy ? dy + static_cast<size_t>(t) * BH : nullptr, dc, dg, dc, d.batch, d.hidden, stream);
    // The gradient reaching h_{t-1}: dgates_t [B, 4H] w_hh [4H, H].
    if (t > 0 || dh0)
      gemm_rm(blas, false, false, d.batch, d.hidden, G, 1.0f, dg, G, w_hh, d.hidden, 0.0f, dh, d.hidden);
  }
  // Weight gradients over all steps at once.
  gemm_rm(blas, true, false, G, d.input, rows, 1.0f, dgates, G, x, d.input, 1.0f, dw_ih, d.input);
  if (d.steps > 1)
    gemm_rm(blas, true, false, G, d.hidden, rows - d.batch, 1.0f, dgates + static_cast<size_t>(d.batch) * G, G, hs,
            d.hidden, 1.0f, dw_hh, d.hidden);
  if (h0) gemm_rm(blas, true, false, G, d.hidden, d.batch, 1.0f, dgates, G, h0, d.hidden, 1.0f, dw_hh, d.hidden);
  add_column_sums(dgates, db, rows, G, stream);
  if (dx) gemm_rm(blas, false, false, rows, d.input, G, 1.0f, dgates, G, w_ih, d.input, 0.0f, dx, d.input);
  if (dh0) LEGATO_CUDA_CHECK(cudaMemcpyAsync(dh0, dh, state_bytes, cudaMemcpyDeviceToDevice, stream));
  if (dc0) LEGATO_CUDA_CHECK(cudaMemcpyAsync(dc0, dc, state_bytes, cudaMemcpyDeviceToDevice, stream));
}

}  // namespace legato::cuda
