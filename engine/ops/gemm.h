#pragma once
// The one product every CPU op calls: C [M, N] = op(A) · op(B), or += with accumulate; row-major
// contiguous operands, A [M, K] ([K, M] when transpose_a), B [K, N] ([N, K] when transpose_b).
// float goes to oneDNN (engine/cpu/products.h, at the caller's fp32/bf16 precision); double to
// Eigen's own product, for the gradient checks, which ignores the precision (float64 is exact enough).
#include <algorithm>
#include <cstdint>
#include <memory>

#include "engine/allocator.h"
#include "engine/cpu/eigen_product.h"
#include "engine/cpu/products.h"

namespace legato::ops::detail {

inline void gemm(const float* a, bool transpose_a, const float* b, bool transpose_b, float* c, int64_t m, int64_t n,
                 int64_t k, bool accumulate, Precision precision) {
  cpu::gemm(a, transpose_a, b, transpose_b, c, m, n, k, accumulate, precision);
}

inline void gemm(const double* a, bool transpose_a, const double* b, bool transpose_b, double* c, int64_t m, int64_t n,
                 int64_t k, bool accumulate, Precision = Precision::FP32) {
  cpu::eigen_product(a, transpose_a, b, transpose_b, c, m, n, k, accumulate);
}

// The same with either operand's bf16 copy given where the caller keeps one, or null (rounded
// there): cpu::gemm's; float64 has none to read.
inline void gemm(const float* a, const uint16_t* a16, bool transpose_a, const float* b, const uint16_t* b16,
                 bool transpose_b, float* c, int64_t m, int64_t n, int64_t k, bool accumulate, Precision precision) {
  cpu::gemm(a, a16, transpose_a, b, b16, transpose_b, c, m, n, k, accumulate, precision);
}

inline void gemm(const double* a, const uint16_t*, bool transpose_a, const double* b, const uint16_t*, bool transpose_b,
                 double* c, int64_t m, int64_t n, int64_t k, bool accumulate, Precision precision) {
  gemm(a, transpose_a, b, transpose_b, c, m, n, k, accumulate, precision);
}

// count bf16 elements for an operand's copy that several products read (the LSTM's Bf16Copies,
// matmul's), from the tensors' caching allocator: a steady step faults no pages in.
inline std::shared_ptr<uint16_t> bf16_block(int64_t count) {
  const size_t bytes = std::max<int64_t>(count, 1) * sizeof(uint16_t);
  return {static_cast<uint16_t*>(host_allocate(bytes)), [bytes](uint16_t* p) { host_release(p, bytes); }};
}

// The B operand of many products with the same number of rows M and the same accumulate flag
// (the LSTM's recurrent product at every step): float32 packs it once (cpu::PackedMatrix),
// float64 reads it in place. b: [K, N], or [N, K] when transposed; it must outlive this object.
template <class T>
class PackedOperand;

template <>
class PackedOperand<float> {
 public:
  PackedOperand(const float* b, bool transposed, int64_t k, int64_t n, int64_t m, bool accumulate, Precision precision)
      : packed_(b, transposed, k, n, m, accumulate, precision) {}
  // c [M, N] (+)= a [M, K] B; a16: a's bf16 copy where its producer wrote one, or null.
  void multiply(const float* a, float* c, const uint16_t* a16 = nullptr) const { packed_.multiply(a, c, a16); }

 private:
  cpu::PackedMatrix packed_;
};

template <>
class PackedOperand<double> {
 public:
  PackedOperand(const double* b, bool transposed, int64_t k, int64_t n, int64_t m, bool accumulate, Precision)
      : b_(b), transposed_(transposed), k_(k), n_(n), m_(m), accumulate_(accumulate) {}
  void multiply(const double* a, double* c, const uint16_t* = nullptr) const {
    gemm(a, false, b_, transposed_, c, m_, n_, k_, accumulate_);
  }

 private:
  const double* b_;
  bool transposed_;
  int64_t k_, n_, m_;
  bool accumulate_;
};

// An A operand that enters several products in a row (the LSTM's gate gradients): float32 rounds
// it once to the products' precision (cpu::RoundedOperand), float64 reads it in place.
// a: the elements [count]; each product reads A from `offset` on, as gemm() reads a.
template <class T>
class RoundedOperand;

template <>
class RoundedOperand<float> {
 public:
  RoundedOperand(const float* a, int64_t count, Precision precision) : rounded_(a, count, precision) {}
  // Its bf16 copy written by the producer (cpu::RoundedOperand::FilledByProducer): fill() is where.
  RoundedOperand(const float* a, int64_t count, Precision precision, cpu::RoundedOperand::FilledByProducer tag)
      : rounded_(a, count, precision, tag) {}
  uint16_t* fill() { return rounded_.fill(); }
  // b16: b's bf16 copy where the caller keeps one (cpu::gemm's), or null.
  void gemm(int64_t offset, bool transpose_a, const float* b, bool transpose_b, float* c, int64_t m, int64_t n,
            int64_t k, bool accumulate, const uint16_t* b16 = nullptr) const {
    rounded_.gemm(offset, transpose_a, b, transpose_b, c, m, n, k, accumulate, b16);
  }

 private:
  cpu::RoundedOperand rounded_;
};

template <>
class RoundedOperand<double> {
 public:
  RoundedOperand(const double* a, int64_t, Precision) : a_(a) {}
  RoundedOperand(const double* a, int64_t, Precision, cpu::RoundedOperand::FilledByProducer) : a_(a) {}
  uint16_t* fill() { return nullptr; }  // float64 is never rounded
  void gemm(int64_t offset, bool transpose_a, const double* b, bool transpose_b, double* c, int64_t m, int64_t n,
            int64_t k, bool accumulate, const uint16_t* = nullptr) const {
    detail::gemm(a_ + offset, transpose_a, b, transpose_b, c, m, n, k, accumulate);
  }

 private:
  const double* a_;
};

}  // namespace legato::ops::detail
