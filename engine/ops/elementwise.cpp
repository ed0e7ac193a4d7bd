// Elementwise ops: binary ones with NumPy broadcasting, and unary activations whose backward
// needs only their output (so the closure keeps the output, not the input).
#include <algorithm>
#include <cmath>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/eigen_maps.h"
#include "engine/ops.h"
#include "engine/ops/broadcast.h"
#include "engine/ops/checks.h"
#include "kernels/elementwise.h"

namespace legato::ops {
namespace {

using detail::Broadcast;
using detail::broadcast;

// Calls fn(i_out, i_a, i_b) for every element of the result, odometer-style over the outer
// dimensions with a tight loop over the innermost one.
template <class Fn>
void for_each_broadcast(const Broadcast& bc, Fn&& fn) {
  const int64_t n = numel_of(bc.out);
  if (n == 0) return;
  const size_t nd = bc.out.size();
  if (nd == 0) {
    fn(0, 0, 0);
    return;
  }
  const int64_t inner = bc.out[nd - 1], sa = bc.stride_a[nd - 1], sb = bc.stride_b[nd - 1];
  std::vector<int64_t> index(nd, 0);
  int64_t base_a = 0, base_b = 0;
  for (int64_t i = 0; i < n; i += inner) {
    for (int64_t j = 0; j < inner; ++j) fn(i + j, base_a + j * sa, base_b + j * sb);
    for (int axis = static_cast<int>(nd) - 2; axis >= 0; --axis) {
      base_a += bc.stride_a[axis];
      base_b += bc.stride_b[axis];
      if (++index[axis] < bc.out[axis]) break;
      base_a -= bc.stride_a[axis] * bc.out[axis];
      base_b -= bc.stride_b[axis] * bc.out[axis];
      index[axis] = 0;
    }
  }
}

using kernels::BinaryKind;
using kernels::UnaryKind;

Tensor binary(BinaryKind kind, const char* op, const Tensor& a, const Tensor& b) {
  detail::check_defined(op, a, "a");
  detail::check_defined(op, b, "b");
  detail::check_same_device(op, b, "b", a, "a");
  detail::check_same_dtype(op, a, "a", b, "b");
  const Broadcast bc = broadcast(op, a, b);
  LEGATO_ROUTE_TO_CUDA(a, cuda_ops::binary(kind, op, a, b));
  Tensor out = Tensor::empty(bc.out, a.dtype());
  dispatch_float(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T *pa = a.data<T>(), *pb = b.data<T>();
    T* po = out.data<T>();
    if (a.shape() == b.shape()) {  // the common case: one vectorised pass
      const int64_t n = out.numel();
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) po[i] = kernels::binary_op(kind, pa[i], pb[i]);
    } else {
      for_each_broadcast(bc,
                         [&](int64_t i, int64_t ia, int64_t ib) { po[i] = kernels::binary_op(kind, pa[ia], pb[ib]); });
    }
  });
  const Tensor a_saved = kind == BinaryKind::Mul ? a.detach() : Tensor();
  const Tensor b_saved = kind == BinaryKind::Mul ? b.detach() : Tensor();
  record(op, {a, b}, {out}, [=](const std::vector<Tensor>& grads) {
    const Tensor& g = grads[0];
    Tensor ga = grad_buffer(a), gb = grad_buffer(b);
    dispatch_float(g.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T* pg = g.data<T>();
      if (kind == BinaryKind::Add) {
        if (ga.defined()) {
          T* p = ga.data<T>();
          for_each_broadcast(bc, [&](int64_t i, int64_t ia, int64_t) { p[ia] += pg[i]; });
        }
        if (gb.defined()) {
          T* p = gb.data<T>();
          for_each_broadcast(bc, [&](int64_t i, int64_t, int64_t ib) { p[ib] += pg[i]; });
        }
      } else {
        const T *pa = a_saved.data<T>(), *pb = b_saved.data<T>();
        if (ga.defined()) {
          T* p = ga.data<T>();
          for_each_broadcast(bc, [&](int64_t i, int64_t ia, int64_t ib) { p[ia] += pg[i] * pb[ib]; });
        }
        if (gb.defined()) {
          T* p = gb.data<T>();
          for_each_broadcast(bc, [&](int64_t i, int64_t ia, int64_t ib) { p[ib] += pg[i] * pa[ia]; });
        }
      }
    });
  });
  return out;
}

// y = f(x); dx += dy * f'(x), with f' written in terms of y (kernels/elementwise.h).
Tensor unary(UnaryKind kind, const char* op, const Tensor& x) {
  detail::check_defined(op, x, "x");
  LEGATO_ROUTE_TO_CUDA(x, cuda_ops::unary(kind, op, x));
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  const int64_t n = x.numel();
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* y = out.data<T>();
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = kernels::activate(kind, in[i]);
  });
  const Tensor y_saved = out.detach();
  record(op, {x}, {out}, [=](const std::vector<Tensor>& grads) {
    Tensor gx = grad_buffer(x);
    dispatch_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T *y = y_saved.data<T>(), *g = grads[0].data<T>();
      T* dx = gx.data<T>();
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) dx[i] += kernels::activation_grad(kind, y[i], g[i]);
    });
  });
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryKind::Add, "add", a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryKind::Mul, "mul", a, b); }

Tensor scale(const Tensor& x, double factor) {
  detail::check_defined("scale", x, "x");
  LEGATO_ROUTE_TO_CUDA(x, cuda_ops::scale(x, factor));
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), "scale", [&](auto tag) {
    using T = decltype(tag);
    as_array<T>(out) = as_array<T>(x) * static_cast<T>(factor);
  });
  record("scale", {x}, {out}, [=](const std::vector<Tensor>& grads) {
    Tensor gx = grad_buffer(x);
    dispatch_float(x.dtype(), "scale", [&](auto tag) {
      using T = decltype(tag);
      as_array<T>(gx) += as_array<T>(grads[0]) * static_cast<T>(factor);
    });
  });
  return out;
}

Tensor sigmoid(const Tensor& x) { return unary(UnaryKind::Sigmoid, "sigmoid", x); }
Tensor tanh(const Tensor& x) { return unary(UnaryKind::Tanh, "tanh", x); }
Tensor relu(const Tensor& x) { return unary(UnaryKind::Relu, "relu", x); }

}  // namespace legato::ops
