// Softmax and log-softmax on CUDA, one block per row (kernels/softmax.cu).
#include "kernels/softmax.h"
#include "engine/autograd.h"
#include "engine/cuda/common.h"
#include "engine/ops.h"

namespace legato::cuda_ops {
namespace {

Tensor softmax_impl(const Tensor& x, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  detail::check(op, x, "x");
  const int64_t cols = x.dim(-1), rows = x.numel() / cols;
  Tensor out = Tensor::empty(x.shape(), DType::F32, Device::CUDA);
  detail::with_context(op, {x}, [&] {
    kernels::softmax_rows_launch(detail::f32(x), detail::f32(out), rows, cols, log, cuda::stream());
  });
  const Tensor y_saved = out.detach();
  record(op, {x}, {out}, [=](const std::vector<Tensor>& grads) {
    Tensor gx = grad_buffer(x);
    detail::with_context(op, {x}, [&] {
      kernels::softmax_rows_backward_launch(detail::f32(y_saved), detail::f32(grads[0]), detail::f32(gx), rows, cols,
                                            log, cuda::stream());
    });
  });
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x) { return softmax_impl(x, false); }
Tensor log_softmax(const Tensor& x) { return softmax_impl(x, true); }

}  // namespace legato::cuda_ops
