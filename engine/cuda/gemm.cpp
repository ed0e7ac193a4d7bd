#include "engine/cuda/gemm.h"

#include <cublas_v2.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/cuda_check.h"

namespace legato::cuda {

// A row-major matrix is its transpose in column-major, so C^T = op(B)^T op(A)^T is computed.
void gemm_rm(cublasHandle_t blas, bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
             const float* b, int ldb, float beta, float* c, int ldc) {
  // An empty C needs nothing. With k == 0 (C = beta C) the operands hold no element, but cuBLAS
  // still wants leading dimensions of at least 1.
  if (m == 0 || n == 0) return;
  lda = std::max(lda, 1);
  ldb = std::max(ldb, 1);
  const cublasStatus_t status =
      cublasSgemm(blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b,
                  ldb, a, lda, &beta, c, ldc);
  if (status != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error("cublasSgemm (row-major [" + std::to_string(m) + ", " + std::to_string(k) + "] x [" +
                             std::to_string(k) + ", " + std::to_string(n) + "]" + (trans_a ? ", A transposed" : "") +
                             (trans_b ? ", B transposed" : "") + ") failed: " + cublasGetStatusString(status));
}

}  // namespace legato::cuda
