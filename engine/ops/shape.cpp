// Shape ops: reshape (a view), slice and concat along any dimension (copies).
#include <cstring>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/eigen_maps.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"

namespace legato::ops {
namespace {

int normalise_dim(const char* op, const Tensor& x, int dim) {
  const int d = dim < 0 ? dim + x.ndim() : dim;
  if (d < 0 || d >= x.ndim())
    throw std::out_of_range(std::string(op) + ": dimension " + std::to_string(dim) + " of a tensor " + x.describe());
  return d;
}

// A tensor seen as [outer, size(dim), inner].
struct Split {
  int64_t outer = 1, size = 0, inner = 1;
};

Split split_at(const Shape& shape, int dim) {
  Split s;
  for (int k = 0; k < dim; ++k) s.outer *= shape[k];
  s.size = shape[dim];
  for (size_t k = dim + 1; k < shape.size(); ++k) s.inner *= shape[k];
  return s;
}

// Copies block [outer, count, inner] between a tensor split as `from` (starting at from_start
// along dim) and one split as `to` (starting at to_start); add = true accumulates instead.
template <class T>
void copy_block(const T* src, const Split& from, int64_t from_start, T* dst, const Split& to, int64_t to_start,
                int64_t count, bool add) {
  const int64_t run = count * from.inner;
  for (int64_t o = 0; o < from.outer; ++o) {
    const T* s = src + (o * from.size + from_start) * from.inner;
    T* d = dst + (o * to.size + to_start) * to.inner;
    if (add)
      for (int64_t k = 0; k < run; ++k) d[k] += s[k];
    else
      std::memcpy(d, s, static_cast<size_t>(run) * sizeof(T));
  }
}

// The same move on whichever device the tensors live (float32 only on the GPU).
void move_block(const char* op, const Tensor& src, const Split& from, int64_t from_start, Tensor& dst, const Split& to,
                int64_t to_start, int64_t count, bool add) {
  LEGATO_ROUTE_TO_CUDA(src, cuda_ops::copy_block(src, from.size, from_start, dst, to.size, to_start, from.outer, count,
                                                 from.inner, add));
  dispatch_float(src.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    copy_block(src.data<T>(), from, from_start, dst.data<T>(), to, to_start, count, add);
  });
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  if (!x.defined()) throw std::invalid_argument("reshape: x is undefined");
  if (numel_of(shape) != x.numel())
    throw std::invalid_argument("reshape: cannot reshape " + x.describe() + " to " + to_string(shape));
  Tensor out = x.view(shape);  // shares storage: no copy
  record("reshape", {x}, {out}, [=](const std::vector<Tensor>& grads) {
    Tensor gx = grad_buffer(x);
    accumulate(gx, grads[0].view(x.shape()));
  });
  return out;
}

Tensor slice(const Tensor& x, int dim, int64_t start, int64_t end) {
  const char* op = "slice";
  if (!x.defined()) throw std::invalid_argument("slice: x is undefined");
  const int d = normalise_dim(op, x, dim);
  if (start < 0 || end < start || end > x.dim(d))
    throw std::out_of_range("slice: [" + std::to_string(start) + ", " + std::to_string(end) + ") along dimension " +
                            std::to_string(d) + " of " + x.describe());
  Shape shape = x.shape();
  shape[d] = end - start;
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  const Split from = split_at(x.shape(), d), to = split_at(shape, d);
  move_block(op, x, from, start, out, to, 0, end - start, false);
  record(op, {x}, {out}, [=](const std::vector<Tensor>& grads) {
    Tensor gx = grad_buffer(x);
    move_block(op, grads[0], to, 0, gx, from, start, end - start, true);
  });
  return out;
}

Tensor concat(const std::vector<Tensor>& parts, int dim) {
  const char* op = "concat";
  if (parts.empty()) throw std::invalid_argument("concat: no tensors to concatenate");
  for (const Tensor& p : parts) {
    if (!p.defined()) throw std::invalid_argument("concat: a part is undefined");
    detail::check_same_device(op, parts[0], "the first part", p, "another");
  }
  const int d = normalise_dim(op, parts[0], dim);
  Shape shape = parts[0].shape();
  shape[d] = 0;
  for (const Tensor& p : parts) {
    detail::check_same_dtype(op, parts[0], "the first part", p, "another");
    Shape s = p.shape();
    if (s.size() != shape.size())
      throw std::invalid_argument("concat: parts " + parts[0].describe() + " and " + p.describe() + " differ in rank");
    s[d] = 0;
    Shape expect = shape;
    expect[d] = 0;
    if (s != expect)
      throw std::invalid_argument("concat: parts " + parts[0].describe() + " and " + p.describe() +
                                  " differ outside dimension " + std::to_string(d));
    shape[d] += p.dim(d);
  }
  Tensor out = Tensor::empty(shape, parts[0].dtype(), parts[0].device());
  const Split to = split_at(shape, d);
  int64_t at = 0;
  for (const Tensor& p : parts) {
    move_block(op, p, split_at(p.shape(), d), 0, out, to, at, p.dim(d), false);
    at += p.dim(d);
  }
  record(op, parts, {out}, [=](const std::vector<Tensor>& grads) {
    int64_t offset = 0;
    for (const Tensor& p : parts) {
      Tensor gp = grad_buffer(p);
      if (gp.defined()) move_block(op, grads[0], to, offset, gp, split_at(p.shape(), d), 0, p.dim(d), true);
      offset += p.dim(d);
    }
  });
  return out;
}

}  // namespace legato::ops
