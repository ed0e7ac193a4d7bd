#pragma once
// Launchers of the elementwise kernels (elementwise.cu), behind engine/cuda/elementwise.cpp.
// The conventions of every launcher: kernels/launch.h.
#include <cstdint>

#include "elementwise.h"

typedef struct CUstream_st* cudaStream_t;

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
