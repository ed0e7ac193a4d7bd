// The whole-tensor sum on CUDA (kernels/reduce.cu).
#include "kernels/reduce.h"
#include "engine/autograd.h"
#include "engine/cuda/common.h"
#include "engine/ops.h"
#include "kernels/elementwise.h"

namespace legato::cuda_ops {
namespace {

// sum(x) * factor; backward adds the scalar gradient times factor to every element.
Tensor scaled_sum(const char* op, const Tensor& x, double factor) {
  detail::check(op, x, "x");
  Tensor out = Tensor::zeros({}, DType::F32, Device::CUDA);
  detail::with_context(op, {x}, [&] {
    if (x.numel() > 0)
      kernels::sum_launch(detail::f32(x), x.numel(), static_cast<float>(factor), detail::f32(out), cuda::stream());
  });
  record(op, {x}, {out}, [=](const std::vector<Tensor>& grads) {
    Tensor gx = grad_buffer(x);
    detail::with_context(op, {x}, [&] {
      kernels::add_scalar_launch(detail::f32(gx), gx.numel(), static_cast<float>(factor), detail::f32(grads[0]),
                                 cuda::stream());
    });
  });
  return out;
}

}  // namespace

Tensor sum(const Tensor& x) { return scaled_sum("sum", x, 1.0); }
// engine/ops/reduce.cpp has refused an empty x.
Tensor mean(const Tensor& x) { return scaled_sum("mean", x, 1.0 / static_cast<double>(x.numel())); }

}  // namespace legato::cuda_ops
