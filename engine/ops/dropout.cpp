// Inverted dropout with a counter-based mask (kernels/philox.h): the mask depends only on
// (seed, offset, element index), so CPU and GPU draw the same one and a gradient check can fix it.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/eigen_maps.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "kernels/philox.h"

namespace legato::ops {

Tensor dropout(const Tensor& x, double p, bool training, uint64_t seed, uint64_t offset) {
  const char* op = "dropout";
  detail::check_cpu(op, x, "x");
  if (!(p >= 0.0 && p < 1.0)) throw std::invalid_argument("dropout: p must be in [0, 1), got " + std::to_string(p));
  if (!training || p == 0.0) return x;
  // The mask, already scaled by 1/(1-p): backward multiplies by the same values.
  Tensor mask = Tensor::empty(x.shape(), x.dtype());
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    T* m = mask.data<T>();
    const int64_t n = x.numel();
    for (int64_t i = 0; i < n; ++i) m[i] = kernels::dropout_scale<T>(seed, offset, static_cast<uint64_t>(i), T(p));
    as_array<T>(out) = as_array<T>(x) * as_array<T>(mask);
  });
  record(op, {x}, {out}, [=](const std::vector<Tensor>& grads) {
    Tensor gx = grad_buffer(x);
    dispatch_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      as_array<T>(gx) += as_array<T>(grads[0]) * as_array<T>(mask);
    });
  });
  return out;
}

}  // namespace legato::ops
