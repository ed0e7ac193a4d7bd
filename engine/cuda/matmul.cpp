// Matrix products on cuBLAS (engine/cuda/gemm.h), strict FP32 unless the caller asks for TF32.
#include "engine/autograd.h"
#include "engine/cuda/common.h"
#include "engine/cuda/gemm.h"
#include "engine/ops.h"

namespace legato::cuda_ops {
namespace {

// c = op(a) op(b) + beta * c, sizes read from the stored (row-major) shapes of a, b and c.
void gemm(bool trans_a, bool trans_b, const Tensor& a, const Tensor& b, Tensor& c, float beta, Precision precision) {
  const char* op = "matmul";
  const int m = detail::as_int(op, trans_a ? a.dim(1) : a.dim(0)),
            k = detail::as_int(op, trans_a ? a.dim(0) : a.dim(1));
  const int n = detail::as_int(op, trans_b ? b.dim(0) : b.dim(1));
  cuda::gemm_rm(cuda::blas(precision), trans_a, trans_b, m, n, k, 1.0f, detail::f32(a), detail::as_int(op, a.dim(1)),
                detail::f32(b), detail::as_int(op, b.dim(1)), beta, detail::f32(c), detail::as_int(op, c.dim(1)));
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool ta, bool tb, Precision precision) {
  const char* op = "matmul";
  detail::check(op, a, "a");
  detail::check(op, b, "b");
  // engine/ops/matmul.cpp has checked ranks and the inner dimensions.
  Tensor out = Tensor::empty({ta ? a.dim(1) : a.dim(0), tb ? b.dim(0) : b.dim(1)}, DType::F32, Device::CUDA);
  detail::with_context(op, {a, b}, [&] { gemm(ta, tb, a, b, out, 0.0f, precision); });
  record(op, {a, b}, {out}, [=](const std::vector<Tensor>& grads) {
    const Tensor& g = grads[0];  // [m, n]
    detail::with_context(op, {a, b}, [&] {
      // C = op(A) op(B): d op(A) = G op(B)^T and d op(B) = op(A)^T G, mapped back through the transposes.
      if (Tensor ga = grad_buffer(a); ga.defined()) {
        if (!ta)
          gemm(false, !tb, g, b, ga, 1.0f, precision);  // G B^T, or G B when B was transposed
        else
          gemm(tb, true, b, g, ga, 1.0f, precision);  // B G^T, or B^T G^T
      }
      if (Tensor gb = grad_buffer(b); gb.defined()) {
        if (!tb)
          gemm(!ta, false, a, g, gb, 1.0f, precision);  // A^T G, or A G when A was transposed
        else
          gemm(true, ta, g, a, gb, 1.0f, precision);  // G^T A, or G^T A^T
      }
    });
  });
  return out;
}

}  // namespace legato::cuda_ops
