#pragma once
// C [M, N] = op(A) · op(B), or += with accumulate, by Eigen's own product: float64 everywhere (the
// gradient checks), float32 where oneDNN is not installed. Row-major contiguous operands, A [M, K]
// ([K, M] when transpose_a), B [K, N] ([N, K] when transpose_b), as cpu::gemm.
#include <Eigen/Core>
#include <cstdint>

namespace legato::cpu {

template <class T>
void eigen_product(const T* a, bool transpose_a, const T* b, bool transpose_b, T* c, int64_t m, int64_t n, int64_t k,
                   bool accumulate) {
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  // A transposed operand is the other-shaped array read transposed.
  const Eigen::Map<const Matrix> A(a, transpose_a ? k : m, transpose_a ? m : k);
  const Eigen::Map<const Matrix> B(b, transpose_b ? n : k, transpose_b ? k : n);
  Eigen::Map<Matrix> C(c, m, n);
  if (!accumulate) C.setZero();
  if (!transpose_a && !transpose_b)
    C.noalias() += A * B;
  else if (!transpose_a)
    C.noalias() += A * B.transpose();
  else if (!transpose_b)
    C.noalias() += A.transpose() * B;
  else
    C.noalias() += A.transpose() * B.transpose();
}

}  // namespace legato::cpu
