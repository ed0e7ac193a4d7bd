// Dropout (the CPU's Philox mask, bit for bit) and the embedding lookup on CUDA.
#include "engine/autograd.h"
#include "engine/cuda/common.h"
#include "engine/cuda/ops.h"
#include "kernels/pointwise_cuda.h"

namespace legato::cuda_ops {

Tensor dropout(const Tensor& x, double p, uint64_t seed, uint64_t offset) {
  const char* op = "dropout";
  detail::check(op, x, "x");
  Tensor mask = Tensor::empty(x.shape(), DType::F32, Device::CUDA);  // already scaled by 1/(1-p)
  Tensor out = Tensor::empty(x.shape(), DType::F32, Device::CUDA);
  detail::with_context(op, {x}, [&] {
    kernels::dropout_launch(detail::f32(x), detail::f32(out), detail::f32(mask), x.numel(), static_cast<float>(p),
                            seed, offset, cuda::stream());
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

Tensor embedding(const Tensor& weight, const Tensor& indices) {
  const char* op = "embedding";
  detail::check(op, weight, "weight");
  detail::check(op, indices, "indices", DType::I32);
  // engine/ops/embedding.cpp has checked the shapes and every index against the table.
  const int64_t width = weight.dim(1), count = indices.numel();
  Shape shape = indices.shape();
  shape.push_back(width);
  Tensor out = Tensor::empty(shape, DType::F32, Device::CUDA);
  detail::with_context(op, {weight, indices}, [&] {
    kernels::embedding_forward_launch(detail::f32(weight), indices.data<int32_t>(), detail::f32(out), count, width,
                                      cuda::stream());
  });
  record(op, {weight}, {out}, [=](const std::vector<Tensor>& grads) {
    Tensor gw = grad_buffer(weight);
    detail::with_context(op, {weight, indices}, [&] {
      kernels::embedding_backward_launch(detail::f32(grads[0]), indices.data<int32_t>(), detail::f32(gw), count, width,
                                         cuda::stream());
    });
  });
  return out;
}

}  // namespace legato::cuda_ops
