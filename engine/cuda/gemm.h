#pragma once
// matmul's products: row-major matrix products on cuBLAS (which is column-major), float32: the one place that
// translates between the two conventions. Declared without CUDA headers.
typedef struct cublasContext* cublasHandle_t;

namespace legato::cuda {

// C [m, n] = alpha * op(A) op(B) + beta * C, all row-major; op(A) is [m, k], op(B) is [k, n].
// lda, ldb, ldc are the row lengths of A, B and C as stored. Checked; throws naming the shapes.
void gemm_rm(cublasHandle_t blas, bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
             const float* b, int ldb, float beta, float* c, int ldc);

}  // namespace legato::cuda
