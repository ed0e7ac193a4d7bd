// The embedding lookup on CUDA (kernels/embedding.cu).
#include "kernels/embedding.h"
#include "engine/autograd.h"
#include "engine/cuda/common.h"
#include "engine/ops.h"

namespace legato::cuda_ops {

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
