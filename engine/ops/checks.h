#pragma once
// Argument checks shared by the ops: each failure names the op and the shapes involved. An op
// checks what does not depend on the device first, then routes (engine/dispatch.h).
#include <stdexcept>
#include <string>

#include "engine/tensor.h"

namespace legato::ops::detail {

inline void check_defined(const char* op, const Tensor& t, const char* name) {
  if (!t.defined()) throw std::invalid_argument(std::string(op) + ": " + name + " is undefined");
}

inline void check_cpu(const char* op, const Tensor& t, const char* name) {
  if (!t.defined()) throw std::invalid_argument(std::string(op) + ": " + name + " is undefined");
  if (t.device() != Device::CPU)
    throw std::invalid_argument(std::string(op) + ": " + name + " is " + t.describe() +
                                " but the op's first input is on the cpu: move them to one device first");
}

inline void check_same_dtype(const char* op, const Tensor& a, const char* name_a, const Tensor& b, const char* name_b) {
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
