// Dropout on CUDA: the CPU's Philox mask, bit for bit (kernels/dropout.cu).
#include "kernels/dropout.h"
#include "engine/autograd.h"
#include "engine/cuda/common.h"
#include "engine/ops.h"
#include "kernels/elementwise.h"

namespace legato::cuda_ops {

Tensor dropout(const Tensor& x, double p, uint64_t seed, uint64_t offset, const ops::BatchSlice& slice) {
  const char* op = "dropout";
  detail::check(op, x, "x");
  Tensor mask = Tensor::empty(x.shape(), DType::F32, Device::CUDA);  // already scaled by 1/(1-p)
  Tensor out = Tensor::empty(x.shape(), DType::F32, Device::CUDA);
  detail::with_context(op, {x}, [&] {
    // ops::dropout checked that x is windows of the slice, rows of x's last dimension each.
    kernels::dropout_launch(detail::f32(x), detail::f32(out), detail::f32(mask), x.numel(), static_cast<float>(p), seed,
                            offset, {slice, x.ndim() > 0 ? x.dim(x.ndim() - 1) : 1}, cuda::stream());
  });
  record(op, {x}, {out}, [=](const std::vector<Tensor>& grads) {
    Tensor gx = grad_buffer(x);
    // dx += dy * mask: the broadcast gradient of a product over identical shapes.
    kernels::BroadcastGeometry g;
    g.ndim = 1;
    g.out_shape[0] = x.numel();
    g.stride_a[0] = g.stride_b[0] = 1;
    detail::with_context(op, {x}, [&] {
      kernels::broadcast_grad_launch(detail::f32(grads[0]), detail::f32(mask), detail::f32(gx), x.numel(), g,
                                     cuda::stream());
    });
  });
  return out;
}

}  // namespace legato::cuda_ops
