#pragma once
// How an op reaches its code: by device (LEGATO_ROUTE_TO_CUDA), then by dtype (dispatch_float).
#include <stdexcept>
#include <string>

#include "engine/tensor.h"

// The one rule for handing an op to the GPU: an op first checks what does not depend on the
// device (defined inputs, one device, one dtype, shapes), then routes: the statement returns the
// CUDA backend's op (cuda_ops, declared beside the CPU op in engine/ops.h) when `tensor` lives on
// the GPU. Builds without the backend hold no CUDA tensors and leave the cuda_ops undefined.
#if defined(LEGATO_HAVE_CUDA)
#define LEGATO_ROUTE_TO_CUDA_IF(on_cuda, ...) \
  if (on_cuda) return __VA_ARGS__
#else
#define LEGATO_ROUTE_TO_CUDA_IF(on_cuda, ...) static_cast<void>(0)
#endif
// The usual case: the op goes where its first input `tensor` lives.
#define LEGATO_ROUTE_TO_CUDA(tensor, ...) \
  LEGATO_ROUTE_TO_CUDA_IF((tensor).defined() && (tensor).device() == ::legato::Device::CUDA, __VA_ARGS__)

namespace legato {

// Runs a generic lambda with the C++ type of a floating dtype: fn(float{}) or fn(double{}).
template <class Fn>
decltype(auto) dispatch_float(DType dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case DType::F32: return fn(float{});
    case DType::F64: return fn(double{});
    default:
      throw std::invalid_argument(std::string(op) + ": needs a float32 or float64 tensor, got " + to_string(dtype));
  }
}

}  // namespace legato
