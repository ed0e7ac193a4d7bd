#pragma once
// The LSTM over a whole sequence on the GPU (lstm_sequence.cpp), haste's plan: one cuBLAS GEMM for
// the input projection of all T steps; per step one recurrent GEMM and one fused cell kernel
// (kernels/lstm.h) that writes the gate cache; backward in reverse with one fused cell
// kernel and one GEMM per step, then the weight gradients as large GEMMs and the bias gradient as
// a column reduction (no atomics). Host code: it orders the calls. All pointers are device memory
// owned by the caller, row-major like the CPU tensors; strict FP32 (the handle's math mode decides
// about TF32). Every call and launch is checked.
#include <cstdint>

typedef struct CUstream_st* cudaStream_t;
typedef struct cublasContext* cublasHandle_t;

namespace legato::cuda {

// db [cols] += the column sums of m [rows, cols]: the gradient of a bias broadcast over the rows.
void add_column_sums(const float* m, float* db, int rows, int cols, cudaStream_t stream);

struct LstmDims {
  int steps, batch, input, hidden;
};

// x [T, B, I]; h0, c0 [B, H] (null: zeros); w_ih [4H, I]; w_hh [4H, H]; b_ih, b_hh [4H].
// Writes gate_cache [T, B, 4H] (activated gates), hs [T, B, H] (h_t) and cs [T, B, H] (c_t).
void lstm_forward_cuda(cublasHandle_t blas, cudaStream_t stream, const LstmDims& d, const float* x, const float* h0,
                       const float* c0, const float* w_ih, const float* w_hh, const float* b_ih, const float* b_hh,
                       float* gate_cache, float* hs, float* cs);

// Gradients given dy [T, B, H] (null: none), dh_n and dc_n [B, H] (null: none), and the forward's
// gate_cache, hs, cs. Adds (+=) into dw_ih [4H, I], dw_hh [4H, H] and db [4H] (the gradient of
// each of b_ih and b_hh); writes dx [T, B, I], dh0 and dc0 [B, H] where not null.
// Workspace: dgates [T, B, 4H], dh [B, H], dc [B, H].
void lstm_backward_cuda(cublasHandle_t blas, cudaStream_t stream, const LstmDims& d, const float* x, const float* h0,
                        const float* c0, const float* w_ih, const float* w_hh, const float* gate_cache, const float* hs,
                        const float* cs, const float* dy, const float* dh_n, const float* dc_n, float* dx, float* dh0,
                        float* dc0, float* dw_ih, float* dw_hh, float* db, float* dgates, float* dh, float* dc);

}  // namespace legato::cuda
