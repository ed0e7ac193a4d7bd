// Matrix products: detail::gemm (oneDNN for float32, Eigen for float64) forward and backward.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "engine/ops/gemm.h"

namespace legato::ops {

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
  dispatch_float(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    detail::gemm(a.data<T>(), transpose_a, b.data<T>(), transpose_b, out.data<T>(), m, n, k, false, precision);
  });
  record(op, {a, b}, {out}, [=](const std::vector<Tensor>& grads) {
    Tensor ga = grad_buffer(a), gb = grad_buffer(b);
    dispatch_float(a.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T *G = grads[0].data<T>(), *A = a.data<T>(), *B = b.data<T>();
      // C = op(A) op(B) [m, n]: d op(A) = G op(B)^T and d op(B) = op(A)^T G, each written in the
      // stored (untransposed) shape of A and B.
      if (ga.defined()) {
        if (!transpose_a)
          detail::gemm(G, false, B, !transpose_b, ga.data<T>(), m, k, n, true, precision);  // dA [m, k] = G op(B)^T
        else
          detail::gemm(B, transpose_b, G, true, ga.data<T>(), k, m, n, true, precision);  // dA [k, m] = op(B) G^T
      }
      if (gb.defined()) {
        if (!transpose_b)
          detail::gemm(A, !transpose_a, G, false, gb.data<T>(), k, n, m, true, precision);  // dB [k, n] = op(A)^T G
        else
          detail::gemm(G, true, A, transpose_a, gb.data<T>(), n, k, m, true, precision);  // dB [n, k] = G^T op(A)
      }
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
