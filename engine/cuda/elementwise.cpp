// Elementwise ops on CUDA: broadcasting add and mul, the activations, scaling, and the gradient
// accumulation every backward uses.
#include "kernels/elementwise.h"
#include "engine/autograd.h"
#include "engine/cuda/common.h"
#include "engine/ops.h"
#include "engine/ops/broadcast.h"

namespace legato::cuda_ops {
namespace {

kernels::BroadcastGeometry geometry(const char* op, const ops::detail::Broadcast& bc, bool swap) {
  kernels::BroadcastGeometry g;
  if (bc.out.size() > static_cast<size_t>(kernels::kMaxDims))
    throw std::invalid_argument(std::string(op) + ": the CUDA backend broadcasts up to " +
                                std::to_string(kernels::kMaxDims) + " dimensions, got " + to_string(bc.out));
  g.ndim = static_cast<int>(bc.out.size());
  for (int k = 0; k < g.ndim; ++k) {
    g.out_shape[k] = bc.out[k];
    g.stride_a[k] = swap ? bc.stride_b[k] : bc.stride_a[k];
    g.stride_b[k] = swap ? bc.stride_a[k] : bc.stride_b[k];
  }
  return g;
}

}  // namespace

void accumulate(Tensor& dst, const Tensor& src) {
  detail::check("accumulate", dst, "the gradient");
  detail::check("accumulate", src, "the addend");
  if (dst.shape() != src.shape())
    throw std::invalid_argument("accumulate: " + src.describe() + " into " + dst.describe());
  detail::with_context("accumulate", {dst, src}, [&] {
    kernels::axpy_launch(detail::f32(src), detail::f32(dst), dst.numel(), 1.0f, nullptr, cuda::stream());
  });
}

Tensor binary(kernels::BinaryKind kind, const char* op, const Tensor& a, const Tensor& b) {
  detail::check(op, a, "a");
  detail::check(op, b, "b");
  const ops::detail::Broadcast bc = ops::detail::broadcast(op, a, b);
  const kernels::BroadcastGeometry g = geometry(op, bc, false);
  Tensor out = Tensor::empty(bc.out, DType::F32, Device::CUDA);
  detail::with_context(op, {a, b}, [&] {
    if (out.numel() > 0)
      kernels::broadcast_binary_launch(kind, detail::f32(a), detail::f32(b), detail::f32(out), g, cuda::stream());
  });
  const bool mul = kind == kernels::BinaryKind::Mul;
  const Tensor a_saved = mul ? a.detach() : Tensor(), b_saved = mul ? b.detach() : Tensor();
  record(op, {a, b}, {out}, [=](const std::vector<Tensor>& grads) {
    detail::with_context(op, {a, b}, [&] {
      // Each operand's gradient: the result's gradient (times the other operand for mul) summed
      // over the axes that operand was broadcast along.
      if (Tensor ga = grad_buffer(a); ga.defined())
        kernels::broadcast_grad_launch(detail::f32(grads[0]), mul ? detail::f32(b_saved) : nullptr, detail::f32(ga),
                                       ga.numel(), g, cuda::stream());
      if (Tensor gb = grad_buffer(b); gb.defined())
        kernels::broadcast_grad_launch(detail::f32(grads[0]), mul ? detail::f32(a_saved) : nullptr, detail::f32(gb),
                                       gb.numel(), geometry(op, bc, true), cuda::stream());
    });
  });
  return out;
}

Tensor unary(kernels::UnaryKind kind, const char* op, const Tensor& x) {
  detail::check(op, x, "x");
  Tensor out = Tensor::empty(x.shape(), DType::F32, Device::CUDA);
  detail::with_context(op, {x}, [&] {
    kernels::unary_forward_launch(kind, detail::f32(x), detail::f32(out), x.numel(), cuda::stream());
  });
  const Tensor y_saved = out.detach();  // f' is written in terms of the output
  record(op, {x}, {out}, [=](const std::vector<Tensor>& grads) {
    Tensor gx = grad_buffer(x);
    detail::with_context(op, {x}, [&] {
      kernels::unary_backward_launch(kind, detail::f32(y_saved), detail::f32(grads[0]), detail::f32(gx), x.numel(),
                                     cuda::stream());
    });
  });
  return out;
}

Tensor scale(const Tensor& x, double factor) {
  detail::check("scale", x, "x");
  Tensor out = Tensor::empty(x.shape(), DType::F32, Device::CUDA);
  detail::with_context("scale", {x}, [&] {
    kernels::scale_launch(detail::f32(x), detail::f32(out), x.numel(), static_cast<float>(factor), cuda::stream());
  });
  record("scale", {x}, {out}, [=](const std::vector<Tensor>& grads) {
    Tensor gx = grad_buffer(x);
    detail::with_context("scale", {x}, [&] {
      kernels::axpy_launch(detail::f32(grads[0]), detail::f32(gx), x.numel(), static_cast<float>(factor), nullptr,
                           cuda::stream());
    });
  });
  return out;
}

}  // namespace legato::cuda_ops
