// The products through Eigen's own kernels, where oneDNN is not installed (the GPU machine has no
// Debian packages; its CPU path only checks the GPU's results). fp32 only.
#include "engine/cpu/bf16.h"
#include "engine/cpu/eigen_product.h"
#include "engine/cpu/product_clock.h"
#include "engine/cpu/products.h"

#include <stdexcept>

namespace legato::cpu {
namespace {

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace

bool bf16_supported(std::string* why) {
  if (why) *why = "this build has no oneDNN (Debian's libdnnl-dev), which the bf16 products need";
  return false;
}

void gemm(const float* a, bool transpose_a, const float* b, bool transpose_b, float* c, int64_t m, int64_t n, int64_t k,
          bool accumulate, Precision) {
  const detail::ProductClock clock(detail::ProductWork::Products);
  eigen_product(a, transpose_a, b, transpose_b, c, m, n, k, accumulate);
}

// fp32 only: the bf16 copies are never read.
void gemm(const float* a, const uint16_t*, bool transpose_a, const float* b, const uint16_t*, bool transpose_b,
          float* c, int64_t m, int64_t n, int64_t k, bool accumulate, Precision precision) {
  gemm(a, transpose_a, b, transpose_b, c, m, n, k, accumulate, precision);
}

void to_bf16(const float* a, uint16_t* a16, int64_t count_a, const float* b, uint16_t* b16, int64_t count_b) {
  for (int64_t i = 0; i < count_a; ++i) a16[i] = bf16_bits(a[i]);
  for (int64_t i = 0; i < count_b; ++i) b16[i] = bf16_bits(b[i]);
}

// fp32 only (check_precision refuses bf16 here): no copy.
RoundedOperand::RoundedOperand(const float* a, int64_t count, Precision precision)
    : a_(a), count_(count), precision_(precision) {}
RoundedOperand::RoundedOperand(const float* a, int64_t count, Precision precision, FilledByProducer)
    : a_(a), count_(count), precision_(precision) {}
RoundedOperand::~RoundedOperand() = default;

void RoundedOperand::gemm(int64_t offset, bool transpose_a, const float* b, bool transpose_b, float* c, int64_t m,
                          int64_t n, int64_t k, bool accumulate, const uint16_t*) const {
  if (offset < 0 || offset + m * k > count_)
    throw std::out_of_range("RoundedOperand: a product reads past the operand's elements");
  const detail::ProductClock clock(detail::ProductWork::Products);
  eigen_product(a_ + offset, transpose_a, b, transpose_b, c, m, n, k, accumulate);
}

// Eigen packs inside each product; the copy only keeps the promise that later changes to the
// source are not seen.
struct PackedMatrix::Impl {
  Matrix b;
};

// Threads: Eigen's products run on one thread inside a parallel region by themselves.
PackedMatrix::PackedMatrix(const float* b, bool transposed, int64_t k, int64_t n, int64_t m, bool accumulate, Precision,
                           Threads)
    : impl_(std::make_unique<Impl>(Impl{Eigen::Map<const Matrix>(b, transposed ? n : k, transposed ? k : n)})),
      m_(m),
      n_(n),
      k_(k),
      transposed_(transposed),
      accumulate_(accumulate) {}

PackedMatrix::~PackedMatrix() = default;

void PackedMatrix::multiply(const float* a, float* c, const uint16_t*) const {
  const detail::ProductClock clock(detail::ProductWork::Products);
  eigen_product(a, false, impl_->b.data(), transposed_, c, m_, n_, k_, accumulate_);
}

std::string products_description(Precision) { return "Eigen (built without oneDNN)"; }

}  // namespace legato::cpu
