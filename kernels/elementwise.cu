// The elementwise kernels: binary ops with NumPy broadcasting and the gradients of their
// operands, the activations (elementwise.h's UnaryKind), and the small updates autograd needs (scale, axpy,
// add a scalar, fill). One thread per element, int64 indices.
#include <stdexcept>
#include <string>

#include "cuda_check.h"
#include "elementwise.h"
#include "grid.h"
#include "launch.h"

namespace legato::kernels {
namespace {

// Axes, outermost first, each with its extent and the strides of two arrays read along it.
// Built by push(), which leaves out axes of extent 1 and merges an axis into the previous one
// when both arrays continue contiguously across the two: same-shape operands become a single
// axis, a bias over [N, F] two, so the kernels divide once or not at all per element.
struct Axes {
  int count = 0;
  int64_t extent[kMaxDims] = {};
  int64_t stride0[kMaxDims] = {};
  int64_t stride1[kMaxDims] = {};
};

void push(Axes& axes, int64_t extent, int64_t stride0, int64_t stride1) {
  if (extent == 1) return;  // its index is always 0: it moves nothing
  const int last = axes.count - 1;
  if (last >= 0 && axes.stride0[last] == stride0 * extent && axes.stride1[last] == stride1 * extent) {
    axes.extent[last] *= extent;  // (outer o, inner i) reads at (o * extent + i) * stride
    axes.stride0[last] = stride0;
    axes.stride1[last] = stride1;
    return;
  }
  axes.extent[axes.count] = extent;
  axes.stride0[axes.count] = stride0;
  axes.stride1[axes.count] = stride1;
  ++axes.count;
}

int64_t numel_of(const Axes& axes) {
  int64_t n = 1;
  for (int k = 0; k < axes.count; ++k) n *= axes.extent[k];
  return n;
}

// The two arrays' offsets of flat (row-major over the axes, flat < their product). The outermost
// index is what is left after the others: no division for it.
__device__ __forceinline__ void offsets(const Axes& axes, int64_t flat, int64_t* offset0, int64_t* offset1) {
  int64_t o0 = 0, o1 = 0;
  for (int k = axes.count - 1; k > 0; --k) {
    const int64_t index = flat % axes.extent[k];
    flat /= axes.extent[k];
    o0 += index * axes.stride0[k];
    o1 += index * axes.stride1[k];
  }
  if (axes.count > 0) {
    o0 += flat * axes.stride0[0];
    o1 += flat * axes.stride1[0];
  }
  *offset0 = o0;
  *offset1 = o1;
}

// __grid_constant__: the geometry is indexed by a runtime axis number; this reads it from the
// parameter space instead of copying it to local memory in every thread. out may alias an
// operand of its own shape (each thread reads its element before writing it): no __restrict__.
__global__ void broadcast_binary_kernel(const float* a, const float* b, float* out, int64_t n, BinaryKind kind,
                                        const __grid_constant__ Axes axes) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  int64_t ia, ib;
  offsets(axes, i, &ia, &ib);
  out[i] = binary_op(kind, a[ia], b[ib]);
}

// Where the gradient of operand a gathers from: its own axes (kept) and those it is broadcast
// over (reduced), each with the result's stride (stride0) and the other operand's (stride1).
struct GradGeometry {
  Axes kept;
  Axes reduced;
  int64_t reduce_count = 1;  // result elements per element of a
};

// A block of (x, y) threads: x walks consecutive elements j of a (consecutive addresses when a's
// innermost axis is not broadcast, e.g. a bias), y splits j's result elements among blockDim.y
// threads, whose partial sums are then added by a fixed tree over y: deterministic, no atomics.
__global__ void broadcast_grad_kernel(const float* __restrict__ dout, const float* __restrict__ other,
                                      float* __restrict__ da, int64_t a_numel,
                                      const __grid_constant__ GradGeometry geo) {
  __shared__ float partial[kThreads];
  const int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  float sum = 0.0f;
  if (j < a_numel) {
    int64_t base_out, base_other;
    offsets(geo.kept, j, &base_out, &base_other);
    for (int64_t r = threadIdx.y; r < geo.reduce_count; r += blockDim.y) {
      int64_t io, ib;
      offsets(geo.reduced, r, &io, &ib);
      sum += dout[base_out + io] * (other ? other[base_other + ib] : 1.0f);
    }
  }
  // Every thread takes part in the tree (no early return before __syncthreads).
  const unsigned lane = threadIdx.y * blockDim.x + threadIdx.x;
  partial[lane] = sum;
  __syncthreads();
  for (unsigned half = blockDim.y / 2; half > 0; half /= 2) {
    if (threadIdx.y < half) partial[lane] += partial[lane + half * blockDim.x];
    __syncthreads();
  }
  if (threadIdx.y == 0 && j < a_numel) da[j] += partial[threadIdx.x];
}

// The smallest power of two >= n, but at most cap (a power of two).
int pow2_at_least(int64_t n, int cap) {
  int p = 1;
  while (p < n && p < cap) p *= 2;
  return p;
}

// x and y may be the same buffer here and in scale_kernel: no __restrict__.
__global__ void unary_forward_kernel(const float* x, float* y, int64_t n, UnaryKind kind) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] = activate(kind, x[i]);
}

__global__ void unary_backward_kernel(const float* __restrict__ y, const float* __restrict__ dy, float* __restrict__ dx,
                                      int64_t n, UnaryKind kind) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) dx[i] += activation_grad(kind, y[i], dy[i]);
}

__global__ void scale_kernel(const float* x, float* y, int64_t n, float alpha) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] = alpha * x[i];
}

// scalar: a device value (e.g. a scalar output's gradient) read by every thread, or null for 1.
// x may be y (y += alpha * y): no __restrict__ on them.
__global__ void axpy_kernel(const float* x, float* y, int64_t n, float alpha, const float* __restrict__ scalar) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] += alpha * (scalar ? *scalar : 1.0f) * x[i];
}

__global__ void add_scalar_kernel(float* __restrict__ y, int64_t n, float alpha, const float* __restrict__ scalar) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] += alpha * (scalar ? *scalar : 1.0f);
}

__global__ void fill_kernel(float* y, int64_t n, float value) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] = value;
}

}  // namespace

void broadcast_binary_launch(BinaryKind kind, const float* a, const float* b, float* out, const BroadcastGeometry& g,
                             cudaStream_t stream) {
  Axes axes;
  for (int k = 0; k < g.ndim; ++k) push(axes, g.out_shape[k], g.stride_a[k], g.stride_b[k]);
  const int64_t n = numel_of(axes);  // 1 when ndim == 0: a single element
  if (n == 0) return;
  LEGATO_LAUNCH(broadcast_binary_kernel, blocks_for(n), kThreads, 0, stream, a, b, out, n, kind, axes);
}

void broadcast_grad_launch(const float* dout, const float* other, float* da, int64_t a_numel,
                           const BroadcastGeometry& g, cudaStream_t stream) {
  if (a_numel == 0) return;
  // The result's own (row-major) strides; the other operand's matter only for a Mul.
  int64_t out_stride[kMaxDims] = {};
  int64_t stride = 1;
  for (int k = g.ndim - 1; k >= 0; --k) {
    out_stride[k] = stride;
    stride *= g.out_shape[k];
  }
  GradGeometry geo;
  for (int k = 0; k < g.ndim; ++k) {
    const int64_t other_stride = other ? g.stride_b[k] : 0;
    // stride_a is 0 along the axes a is broadcast over (and along extent-1 axes, which push() drops).
    push(g.stride_a[k] != 0 ? geo.kept : geo.reduced, g.out_shape[k], out_stride[k], other_stride);
  }
  if (numel_of(geo.kept) != a_numel)
    throw std::invalid_argument("broadcast_grad_launch: a_numel " + std::to_string(a_numel) +
                                " does not match the geometry's non-broadcast axes");
  geo.reduce_count = numel_of(geo.reduced);
  if (geo.reduce_count == 0) return;  // an empty result: da gets nothing
  // Threads along y share the result elements of each element of a: as many as there are such
  // elements, up to what leaves x at least min(a_numel, 8) wide (8 floats fill a 32-byte sector).
  const int y = pow2_at_least(geo.reduce_count, kThreads / pow2_at_least(a_numel, 8));
  const int x = kThreads / y;
  const int blocks = static_cast<int>((a_numel + x - 1) / x);
  LEGATO_LAUNCH(broadcast_grad_kernel, blocks, dim3(x, y), 0, stream, dout, other, da, a_numel, geo);
}

void unary_forward_launch(UnaryKind kind, const float* x, float* y, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  LEGATO_LAUNCH(unary_forward_kernel, blocks_for(n), kThreads, 0, stream, x, y, n, kind);
}

void unary_backward_launch(UnaryKind kind, const float* y, const float* dy, float* dx, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  LEGATO_LAUNCH(unary_backward_kernel, blocks_for(n), kThreads, 0, stream, y, dy, dx, n, kind);
}

void scale_launch(const float* x, float* y, int64_t n, float alpha, cudaStream_t stream) {
  if (n == 0) return;
  LEGATO_LAUNCH(scale_kernel, blocks_for(n), kThreads, 0, stream, x, y, n, alpha);
}

void axpy_launch(const float* x, float* y, int64_t n, float alpha, const float* scalar, cudaStream_t stream) {
  if (n == 0) return;
  LEGATO_LAUNCH(axpy_kernel, blocks_for(n), kThreads, 0, stream, x, y, n, alpha, scalar);
}

void add_scalar_launch(float* y, int64_t n, float alpha, const float* scalar, cudaStream_t stream) {
  if (n == 0) return;
  LEGATO_LAUNCH(add_scalar_kernel, blocks_for(n), kThreads, 0, stream, y, n, alpha, scalar);
}

void fill_launch(float* y, int64_t n, float value, cudaStream_t stream) {
  if (n == 0) return;
  LEGATO_LAUNCH(fill_kernel, blocks_for(n), kThreads, 0, stream, y, n, value);
}

}  // namespace legato::kernels
