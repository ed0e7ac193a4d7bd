#pragma once
// Argument checks shared by the ops: each failure names the op and the shapes involved.
#include <stdexcept>
#include <string>

#include "engine/tensor.h"

// Sends an op to the CUDA backend (engine/cuda/ops.h) when `tensor` lives on the GPU: the
// statement returns the CUDA op's result. Builds without the backend hold no CUDA tensors.
#if defined(LEGATO_HAVE_CUDA)
#include "engine/cuda/ops.h"
#define LEGATO_ROUTE_TO_CUDA(tensor, ...) \
  if ((tensor).defined() && (tensor).device() == ::legato::Device::CUDA) return __VA_ARGS__
#else
#define LEGATO_ROUTE_TO_CUDA(tensor, ...) static_cast<void>(0)
#endif

namespace legato::ops::detail {

inline void check_cpu(const char* op, const Tensor& t, const char* name) {
  if (!t.defined()) throw std::invalid_argument(std::string(op) + ": " + name + " is undefined");
  if (t.device() != Device::CPU)
    throw std::invalid_argument(std::string(op) + ": " + name + " is " + t.describe() +
                                " but the op's first input is on the cpu: move them to one device first");
}

inline void check_same_dtype(const char* op, const Tensor& a, const char* name_a, const Tensor& b,
                             const char* name_b) {
  if (a.dtype() != b.dtype())
    throw std::invalid_argument(std::string(op) + ": " + name_a + " is " + a.describe() + " but " + name_b + " is " +
                                b.describe());
}

inline void check_same_device(const char* op, const Tensor& a, const char* name_a, const Tensor& b,
                              const char* name_b) {
  if (a.device() != b.device())
    throw std::invalid_argument(std::string(op) + ": " + name_a + " is " + a.describe() + " but " + name_b + " is " +
                                b.describe() + ": move them to one device first");
}

inline void check_ndim(const char* op, const Tensor& t, const char* name, int ndim) {
  if (t.ndim() != ndim)
    throw std::invalid_argument(std::string(op) + ": " + name + " must have " + std::to_string(ndim) +
                                " dimensions, got " + t.describe());
}

// Targets of a classification loss: int32 [N], each in [0, classes).
void check_targets(const char* op, const Tensor& targets, int64_t rows, int64_t classes);

}  // namespace legato::ops::detail
