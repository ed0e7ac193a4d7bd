// Embedding lookup: rows of a [V, E] table; backward scatters the rows' gradients back.
#include <cstring>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/eigen_maps.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"

namespace legato::ops {

Tensor embedding(const Tensor& weight, const Tensor& indices) {
  const char* op = "embedding";
  if (!weight.defined() || !indices.defined()) throw std::invalid_argument("embedding: weight or indices undefined");
  detail::check_same_device(op, weight, "weight", indices, "indices");
  detail::check_ndim(op, weight, "weight", 2);
  if (indices.dtype() != DType::I32)
    throw std::invalid_argument("embedding: indices must be int32, got " + indices.describe());
  const int64_t vocab = weight.dim(0), width = weight.dim(1), count = indices.numel();
  {
    // GPU indices are checked from a host copy: a bad one would read outside the table there.
    const Tensor host = indices.device() == Device::CPU ? indices : indices.to(Device::CPU);
    const int32_t* idx = host.data<int32_t>();
    for (int64_t k = 0; k < count; ++k)
      if (idx[k] < 0 || idx[k] >= vocab)
        throw std::out_of_range("embedding: index " + std::to_string(idx[k]) + " at position " + std::to_string(k) +
                                " is outside the table " + weight.describe());
  }
  LEGATO_ROUTE_TO_CUDA(weight, cuda_ops::embedding(weight, indices));
  const int32_t* idx = indices.data<int32_t>();
  Shape shape = indices.shape();
  shape.push_back(width);
  Tensor out = Tensor::empty(shape, weight.dtype());
  const size_t row_bytes = static_cast<size_t>(width) * dtype_size(weight.dtype());
  for (int64_t k = 0; k < count; ++k)
    std::memcpy(static_cast<char*>(out.raw_data()) + k * row_bytes,
                static_cast<const char*>(weight.raw_data()) + idx[k] * row_bytes, row_bytes);
  record(op, {weight}, {out}, [=](const std::vector<Tensor>& grads) {
    Tensor gw = grad_buffer(weight);
    dispatch_float(weight.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      auto g = as_matrix<T>(grads[0], count);
      auto dw = as_matrix<T>(gw, vocab);
      const int32_t* ids = indices.data<int32_t>();
      for (int64_t k = 0; k < count; ++k) dw.row(ids[k]) += g.row(k);
    });
  });
  return out;
}

}  // namespace legato::ops
