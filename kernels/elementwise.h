#pragma once
// The elementwise ops' per-element arithmetic, each formula once: the CPU ops
// (engine/ops/elementwise.cpp) and the kernels (elementwise.cu) both call these, with one enum per
// op kind shared by host and device code. Adding an activation: its case here, its name in
// engine/ops.h and engine/ops/elementwise.cpp, and its row in tests/op_table.h (which the
// gradient checks, the float32 check and the GPU tests loop over: docs/ops.md).
// Below them: the launchers of elementwise.cu, for the host code in engine/cuda/ (declarations only, no
// CUDA header needed: the CPU build compiles this file too).
#include <cmath>
#include <cstdint>

#include "hd.h"

typedef struct CUstream_st* cudaStream_t;

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

// ---- the launchers of elementwise.cu, behind engine/cuda/elementwise.cpp (their conventions: launch.h) ----
namespace legato::kernels {

constexpr int kMaxDims = 8;

// Where element i of a broadcast result reads its two operands: per result axis, the extent and
// each operand's stride (0 along the axes it is broadcast over), NumPy's rules.
struct BroadcastGeometry {
  int ndim = 0;
  int64_t out_shape[kMaxDims] = {};
  int64_t stride_a[kMaxDims] = {};
  int64_t stride_b[kMaxDims] = {};
};

// out [numel(out_shape)] = a op b, read through the geometry.
void broadcast_binary_launch(BinaryKind kind, const float* a, const float* b, float* out, const BroadcastGeometry& g,
                             cudaStream_t stream);

// The gradient of operand a (swap the strides for b): da[j] += sum over the result elements i
// that read a[j] of dout[i] * (other ? other[ib] : 1), where other is the second operand of a
// Mul. Each element of a is owned by a column of one block, whose threads split its broadcast
// axes and add their partial sums in a fixed order: deterministic, no atomics.
// a_numel: elements of a (contiguous, row-major over its shape aligned to the result).
void broadcast_grad_launch(const float* dout, const float* other, float* da, int64_t a_numel,
                           const BroadcastGeometry& g, cudaStream_t stream);

// y [n] = f(x); y may alias x.
void unary_forward_launch(UnaryKind kind, const float* x, float* y, int64_t n, cudaStream_t stream);
// dx [n] += dy * f'(x), with f' written in terms of the forward's output y.
void unary_backward_launch(UnaryKind kind, const float* y, const float* dy, float* dx, int64_t n, cudaStream_t stream);

// y [n] = alpha * x; y may alias x.
void scale_launch(const float* x, float* y, int64_t n, float alpha, cudaStream_t stream);
// y [n] += alpha * s * x, s = *scalar (a device value such as a scalar output's gradient) or 1 when null.
void axpy_launch(const float* x, float* y, int64_t n, float alpha, const float* scalar, cudaStream_t stream);
// y [n] += alpha * s, s as above.
void add_scalar_launch(float* y, int64_t n, float alpha, const float* scalar, cudaStream_t stream);
// y [n] = value.
void fill_launch(float* y, int64_t n, float value, cudaStream_t stream);

}  // namespace legato::kernels
