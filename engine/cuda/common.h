#pragma once
// Helpers of the CUDA ops (engine/cuda/*.cpp): argument checks that name the op and the shapes,
// typed device pointers, and errors from CUDA or cuBLAS re-thrown with the op's context.
#include <climits>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "engine/cuda/runtime.h"
#include "engine/tensor.h"

namespace legato::cuda_ops::detail {

// t must be defined, on the GPU and of `dtype` (the backend computes in float32).
inline void check(const char* op, const Tensor& t, const char* name, DType dtype = DType::F32) {
  if (!t.defined()) throw std::invalid_argument(std::string(op) + ": " + name + " is undefined");
  if (t.device() != Device::CUDA)
    throw std::invalid_argument(std::string(op) + ": " + name + " is " + t.describe() +
                                " but the op's other inputs are on cuda: move them to one device first");
  if (t.dtype() != dtype)
    throw std::invalid_argument(std::string(op) + ": " + name + " is " + t.describe() + " but the CUDA backend takes " +
                                to_string(dtype) + " here");
}

// cuBLAS takes int sizes.
inline int as_int(const char* op, int64_t value) {
  if (value > INT_MAX)
    throw std::invalid_argument(std::string(op) + ": size " + std::to_string(value) + " exceeds cuBLAS's int range");
  return static_cast<int>(value);
}

inline std::string describe_all(std::initializer_list<Tensor> tensors) {
  std::string s;
  for (const Tensor& t : tensors) s += (s.empty() ? "" : ", ") + t.describe();
  return s;
}

// Runs fn; a CUDA or cuBLAS failure comes back naming the op and its inputs' shapes as well as the call.
template <class Fn>
void with_context(const char* op, std::initializer_list<Tensor> inputs, Fn&& fn) {
  try {
    fn();
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string(op) + " on " + describe_all(inputs) + ": " + e.what());
  }
}

inline float* f32(Tensor& t) { return t.data<float>(); }
inline const float* f32(const Tensor& t) { return t.data<float>(); }
// Null for an undefined (optional) tensor.
inline const float* f32_or_null(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

}  // namespace legato::cuda_ops::detail
