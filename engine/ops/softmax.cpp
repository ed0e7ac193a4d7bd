// Softmax and log-softmax over the last dimension: the formulas, forward and backward, are
// kernels/softmax.h's, which the kernels run too.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/eigen_maps.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "engine/ops/softmax_row.h"

namespace legato::ops {
namespace {

Tensor softmax_impl(const Tensor& x, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  if (!x.defined() || x.ndim() == 0 || x.dim(-1) == 0)
    throw std::invalid_argument(std::string(op) + ": x is " + x.describe());
  LEGATO_ROUTE_TO_CUDA(x, log ? cuda_ops::log_softmax(x) : cuda_ops::softmax(x));
  detail::check_cpu(op, x, "x");
  const int64_t cols = x.dim(-1), rows = x.numel() / cols;
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    auto in = as_matrix<T>(x, rows);
    auto y = as_matrix<T>(out, rows);
    for (int64_t r = 0; r < rows; ++r) detail::softmax_row(in.row(r), y.row(r), log);
  });
  const Tensor y_saved = out.detach();
  record(op, {x}, {out}, [=](const std::vector<Tensor>& grads) {
    Tensor gx = grad_buffer(x);
    dispatch_float(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      auto y = as_matrix<T>(y_saved, rows);
      auto g = as_matrix<T>(grads[0], rows);
      auto dx = as_matrix<T>(gx, rows);
      for (int64_t r = 0; r < rows; ++r) detail::softmax_backward_row(y.row(r), g.row(r), dx.row(r), log);
    });
  });
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x) { return softmax_impl(x, false); }
Tensor log_softmax(const Tensor& x) { return softmax_impl(x, true); }

}  // namespace legato::ops
