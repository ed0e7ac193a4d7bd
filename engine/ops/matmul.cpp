// Matrix products on Eigen maps; with LEGATO_BLAS, Eigen hands them to OpenBLAS's sgemm/dgemm.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/eigen_maps.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"

namespace legato::ops {

namespace {

template <class T>
ConstMatMap<T> matrix(const Tensor& m) {
  return ConstMatMap<T>(m.data<T>(), m.dim(0), m.dim(1));
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
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
  LEGATO_ROUTE_TO_CUDA(a, cuda_ops::matmul(a, b, transpose_a, transpose_b));
  detail::check_cpu(op, a, "a");
  detail::check_cpu(op, b, "b");
  Tensor out = Tensor::empty({m, n}, a.dtype());
  dispatch_float(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    auto A = matrix<T>(a);
    auto B = matrix<T>(b);
    MatMap<T> C(out.data<T>(), m, n);
    if (!transpose_a && !transpose_b)
      C.noalias() = A * B;
    else if (!transpose_a)
      C.noalias() = A * B.transpose();
    else if (!transpose_b)
      C.noalias() = A.transpose() * B;
    else
      C.noalias() = A.transpose() * B.transpose();
  });
  record(op, {a, b}, {out}, [=](const std::vector<Tensor>& grads) {
    Tensor ga = grad_buffer(a), gb = grad_buffer(b);
    dispatch_float(a.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      ConstMatMap<T> G(grads[0].data<T>(), m, n);
      auto A = matrix<T>(a);
      auto B = matrix<T>(b);
      // C = op(A) op(B): d op(A) = G op(B)^T and d op(B) = op(A)^T G, mapped back through the transposes.
      if (ga.defined()) {
        MatMap<T> dA(ga.data<T>(), a.dim(0), a.dim(1));
        if (!transpose_a && !transpose_b)
          dA.noalias() += G * B.transpose();
        else if (!transpose_a)
          dA.noalias() += G * B;
        else if (!transpose_b)
          dA.noalias() += B * G.transpose();
        else
          dA.noalias() += B.transpose() * G.transpose();
      }
      if (gb.defined()) {
        MatMap<T> dB(gb.data<T>(), b.dim(0), b.dim(1));
        if (!transpose_a && !transpose_b)
          dB.noalias() += A.transpose() * G;
        else if (!transpose_a)
          dB.noalias() += G.transpose() * A;
        else if (!transpose_b)
          dB.noalias() += A * G;
        else
          dB.noalias() += G.transpose() * A.transpose();
      }
    });
  });
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  Tensor y = matmul(x, weight, false, true);
  return bias.defined() ? add(y, bias) : y;
}

}  // namespace legato::ops
