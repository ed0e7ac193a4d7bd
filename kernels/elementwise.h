#pragma once
// The elementwise ops' per-element arithmetic, each formula once: the CPU ops
// (engine/ops/elementwise.cpp) and the kernels (elementwise.cu) both call these, with one enum per
// op kind shared by host and device code. Adding an activation: its case here, its name in
// engine/ops.h and engine/ops/elementwise.cpp, and its row in tests/op_table.h (which the
// gradient checks, the float32 check and the GPU tests loop over: docs/ops.md).
#include <cmath>

#include "hd.h"

namespace legato::kernels {

enum class BinaryKind { Add, Mul };
enum class UnaryKind { Sigmoid, Tanh, Relu };

template <class T>
LEGATO_HD T binary_op(BinaryKind kind, T a, T b) {
  return kind == BinaryKind::Mul ? a * b : a + b;
}

// y = f(x).
template <class T>
LEGATO_HD T activate(UnaryKind kind, T x) {
  using std::exp;
  using std::tanh;
  switch (kind) {
    case UnaryKind::Sigmoid: return T(1) / (T(1) + exp(-x));
    case UnaryKind::Tanh: return tanh(x);
    case UnaryKind::Relu: return x > T(0) ? x : T(0);
  }
  return x;  // not reached
}

// dy * f'(x), with f' written in terms of the output y = f(x); a ReLU passes dy or 0, never
// dy * 0 (which is NaN for an infinite dy).
template <class T>
LEGATO_HD T activation_grad(UnaryKind kind, T y, T dy) {
  switch (kind) {
    case UnaryKind::Sigmoid: return dy * y * (T(1) - y);
    case UnaryKind::Tanh: return dy * (T(1) - y * y);
    case UnaryKind::Relu: return y > T(0) ? dy : T(0);
  }
  return T(0);  // not reached
}

}  // namespace legato::kernels
