// Matrix products: detail::gemm (oneDNN for float32, Eigen for float64) forward and backward.
#include <memory>
#include <type_traits>
#include <utility>

#include "engine/autograd.h"
#include "engine/cpu/products.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "engine/ops/gemm.h"

namespace legato::ops {

namespace {

// A float32 operand's bf16 copy (bf16_bits of every element, in its own layout) for the products
// that read it, made once per training step instead of once per product: the forward's two
// operands are read again by the backward's two products (a by dB, b by dA) and the output's
// gradient G by both. Null where the products are not bf16 (float64, fp32, or a product that
// cpu::gemm keeps in float32: depth or width 1), so that nothing is rounded that was not before.
bool bf16_product(const Tensor& operand, Precision precision, int64_t n, int64_t k) {
  return operand.dtype() == DType::F32 && precision == Precision::BF16 && n > 1 && k > 1;
}
std::shared_ptr<uint16_t> rounded_copy(const Tensor& t) {
  std::shared_ptr<uint16_t> copy = detail::bf16_block(t.numel());
  cpu::to_bf16(t.data<float>(), copy.get(), t.numel());
  return copy;
}

// a's and b's copies for a forward product C [m, n] of depth k, rounded in one region.
std::pair<std::shared_ptr<uint16_t>, std::shared_ptr<uint16_t>> rounded_operands(const Tensor& a, const Tensor& b,
                                                                                 int64_t m, int64_t n, int64_t k,
                                                                                 Precision precision) {
  if (m == 0 || !bf16_product(a, precision, n, k)) return {};
  std::shared_ptr<uint16_t> a16 = detail::bf16_block(a.numel()), b16 = detail::bf16_block(b.numel());
  cpu::to_bf16(a.data<float>(), a16.get(), a.numel(), b.data<float>(), b16.get(), b.numel());
  return {a16, b16};
}

// The backward of C [m, n] = op(A) · op(B) given G [m, n] = dC: d op(A) = G op(B)^T and
// d op(B) = op(A)^T G, each written in the stored (untransposed) shape of A and B. a16 and b16:
// the forward's bf16 copies, or null. A gradient buffer on its first use (fresh) is written by its
// product (beta = 0) instead of zeroed and added to; except B's at bf16, whose depth is the m rows
// (T·B in the network's head): oneDNN sums a long K in another order when the product has no sum
// post-op, and a run's numbers would move (engine/ops/lstm.cpp's weight gradients keep theirs too).
template <class T>
void matmul_backward(const Tensor& g_out, const Tensor& a, const uint16_t* a16, bool transpose_a, const Tensor& b,
                     const uint16_t* b16, bool transpose_b, int64_t m, int64_t n, int64_t k, Precision precision) {
  bool a_fresh = false, b_fresh = false;
  Tensor ga = grad_buffer(a, &a_fresh);
  const bool bf16 = std::is_same_v<T, float> && precision == Precision::BF16;
  Tensor gb = bf16 ? grad_buffer(b) : grad_buffer(b, &b_fresh);
  // G's copy where both products read it in bf16 (dA's depth n and width k, dB's depth m and width n).
  std::shared_ptr<uint16_t> g16;
  if (ga.defined() && gb.defined() && bf16_product(g_out, precision, n, k) && m > 1) g16 = rounded_copy(g_out);
  const T *G = g_out.data<T>(), *A = a.data<T>(), *B = b.data<T>();
  const uint16_t* G16 = g16.get();
  if (ga.defined()) {
    if (!transpose_a)  // dA [m, k] = G op(B)^T
      detail::gemm(G, G16, false, B, b16, !transpose_b, ga.data<T>(), m, k, n, !a_fresh, precision);
    else  // dA [k, m] = op(B) G^T
      detail::gemm(B, b16, transpose_b, G, G16, true, ga.data<T>(), k, m, n, !a_fresh, precision);
  }
  if (gb.defined()) {
    if (!transpose_b)  // dB [k, n] = op(A)^T G
      detail::gemm(A, a16, !transpose_a, G, G16, false, gb.data<T>(), k, n, m, !b_fresh, precision);
    else  // dB [n, k] = G^T op(A)
      detail::gemm(G, G16, true, A, a16, transpose_a, gb.data<T>(), n, k, m, !b_fresh, precision);
  }
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b, Precision precision) {
  const char* op = "matmul";
  if (!a.defined() || !b.defined()) throw std::invalid_argument("matmul: an operand is undefined");
  detail::check_same_dtype(op, a, "a", b, "b");
  detail::check_ndim(op, a, "a", 2);
  detail::check_ndim(op, b, "b", 2);
  const int64_t m = transpose_a ? a.dim(1) : a.dim(0), k = transpose_a ? a.dim(0) : a.dim(1);
  const int64_t kb = transpose_b ? b.dim(1) : b.dim(0), n = transpose_b ? b.dim(0) : b.dim(1);
  if (k != kb)
    throw std::invalid_argument(std::string(op) + ": a is " + a.describe() + (transpose_a ? " (transposed)" : "") +
                                " but b is " + b.describe() + (transpose_b ? " (transposed)" : "") +
                                ": inner dimensions " + std::to_string(k) + " and " + std::to_string(kb) + " differ");
  LEGATO_ROUTE_TO_CUDA(a, cuda_ops::matmul(a, b, transpose_a, transpose_b, precision));
  detail::check_cpu(op, a, "a");
  detail::check_cpu(op, b, "b");
  Tensor out = Tensor::empty({m, n}, a.dtype());
  // bf16: a and b rounded once here, for this product and the backward's two.
  const auto [a16, b16] = rounded_operands(a, b, m, n, k, precision);
  dispatch_float(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    detail::gemm(a.data<T>(), a16.get(), transpose_a, b.data<T>(), b16.get(), transpose_b, out.data<T>(), m, n, k,
                 false, precision);
  });
  record(op, {a, b}, {out}, [=](const std::vector<Tensor>& grads) {
    dispatch_float(a.dtype(), op, [&](auto tag) {
      matmul_backward<decltype(tag)>(grads[0], a, a16.get(), transpose_a, b, b16.get(), transpose_b, m, n, k,
                                     precision);
    });
  });
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Precision precision) {
  Tensor y = matmul(x, weight, false, true, precision);
  return bias.defined() ? add(y, bias) : y;
}

struct LinearStepWeights::Packed {
  Packed(const Tensor& w, int64_t rows, Precision precision)
      : product(w.data<float>(), true, w.dim(1), w.dim(0), rows, false, precision) {}
  detail::PackedOperand<float> product;  // x [rows, in] · Wᵀ
};

LinearStepWeights::LinearStepWeights(const Tensor& weight, const Tensor& bias, int64_t rows, Precision precision)
    : weight_(weight), bias_(bias), rows_(rows), precision_(precision) {
  if (!weight.defined()) throw std::invalid_argument("linear: the weight is undefined");
  detail::check_ndim("linear", weight, "weight", 2);
  if (weight.device() == Device::CPU && weight.dtype() == DType::F32)
    packed_ = std::make_shared<const Packed>(weight, rows, precision);
}

LinearStepWeights::~LinearStepWeights() = default;

Tensor LinearStepWeights::operator()(const Tensor& x) const {
  NoGradGuard no_graph;
  if (!packed_ || x.device() != Device::CPU || x.dtype() != DType::F32) return linear(x, weight_, bias_, precision_);
  if (x.shape() != Shape{rows_, weight_.dim(1)})
    throw std::invalid_argument("linear: x is " + x.describe() + " but the weights were made ready for " +
                                to_string(Shape{rows_, weight_.dim(1)}));
  Tensor y = Tensor::empty({rows_, weight_.dim(0)}, DType::F32);
  packed_->product.multiply(x.data<float>(), y.data<float>());
  return bias_.defined() ? add(y, bias_) : y;
}

}  // namespace legato::ops
