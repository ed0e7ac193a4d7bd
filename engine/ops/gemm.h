#pragma once
// The one product every CPU op calls: C [M, N] = op(A) · op(B), or += with accumulate; row-major
// contiguous operands, A [M, K] ([K, M] when transpose_a), B [K, N] ([N, K] when transpose_b).
// float goes to oneDNN (engine/cpu/products.h, at the process's fp32/bf16 precision); double to
// Eigen's own product, for the gradient checks.
#include <cstdint>

#include "engine/cpu/eigen_product.h"
#include "engine/cpu/products.h"

namespace legato::ops::detail {

inline void gemm(const float* a, bool transpose_a, const float* b, bool transpose_b, float* c, int64_t m, int64_t n,
                 int64_t k, bool accumulate) {
  cpu::gemm(a, transpose_a, b, transpose_b, c, m, n, k, accumulate);
}

inline void gemm(const double* a, bool transpose_a, const double* b, bool transpose_b, double* c, int64_t m, int64_t n,
                 int64_t k, bool accumulate) {
  cpu::eigen_product(a, transpose_a, b, transpose_b, c, m, n, k, accumulate);
}

// The B operand of many products with the same number of rows M and the same accumulate flag
// (the LSTM's recurrent product at every step): float32 packs it once (cpu::PackedMatrix),
// float64 reads it in place. b: [K, N], or [N, K] when transposed; it must outlive this object.
template <class T>
class PackedOperand;

template <>
class PackedOperand<float> {
 public:
  PackedOperand(const float* b, bool transposed, int64_t k, int64_t n, int64_t m, bool accumulate)
      : packed_(b, transposed, k, n, m, accumulate) {}
  void multiply(const float* a, float* c) const { packed_.multiply(a, c); }  // c [M, N] (+)= a [M, K] B

 private:
  cpu::PackedMatrix packed_;
};

template <>
class PackedOperand<double> {
 public:
  PackedOperand(const double* b, bool transposed, int64_t k, int64_t n, int64_t m, bool accumulate)
      : b_(b), transposed_(transposed), k_(k), n_(n), m_(m), accumulate_(accumulate) {}
  void multiply(const double* a, double* c) const { gemm(a, false, b_, transposed_, c, m_, n_, k_, accumulate_); }

 private:
  const double* b_;
  bool transposed_;
  int64_t k_, n_, m_;
  bool accumulate_;
};

}  // namespace legato::ops::detail
