#pragma once
// Runs a generic lambda with the C++ type of a floating dtype: fn(float{}) or fn(double{}).
#include <stdexcept>
#include <string>

#include "engine/tensor.h"

namespace legato {

template <class Fn>
decltype(auto) dispatch_float(DType dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case DType::F32:
      return fn(float{});
    case DType::F64:
      return fn(double{});
    default:
      throw std::invalid_argument(std::string(op) + ": needs a float32 or float64 tensor, got " + to_string(dtype));
  }
}

}  // namespace legato
