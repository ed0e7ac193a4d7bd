// Reductions of a whole tensor to a scalar of shape [].
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/eigen_maps.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"

namespace legato::ops {
namespace {

// sum(x) * factor; backward spreads the scalar gradient times factor over every element.
Tensor scaled_sum(const char* op, const Tensor& x, double factor) {
  detail::check_cpu(op, x, "x");
  Tensor out = Tensor::empty({}, x.dtype());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    out.data<T>()[0] = as_array<T>(x).sum() * static_cast<T>(factor);
  });
  record(op, {x}, {out}, [=](const std::vector<Tensor>& grads) {
    Tensor gx = grad_buffer(x);
    dispatch_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      as_array<T>(gx) += grads[0].data<T>()[0] * static_cast<T>(factor);
    });
  });
  return out;
}

}  // namespace

Tensor sum(const Tensor& x) {
  detail::check_defined("sum", x, "x");
  LEGATO_ROUTE_TO_CUDA(x, cuda_ops::sum(x));
  return scaled_sum("sum", x, 1.0);
}

Tensor mean(const Tensor& x) {
  detail::check_defined("mean", x, "x");
  if (x.numel() == 0) throw std::invalid_argument("mean: x is empty: " + x.describe());
  LEGATO_ROUTE_TO_CUDA(x, cuda_ops::mean(x));
  return scaled_sum("mean", x, 1.0 / static_cast<double>(x.numel()));
}

}  // namespace legato::ops
