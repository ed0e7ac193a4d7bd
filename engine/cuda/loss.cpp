// The two cross-entropies on CUDA, one block per row (kernels/loss.cu).
#include "kernels/loss.h"
#include "engine/autograd.h"
#include "engine/cuda/common.h"
#include "engine/ops.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"

namespace legato::cuda_ops {
namespace {

constexpr float kKerasEpsilon = 1e-7f;  // as engine/ops/loss.cpp

// The dtypes the kernels take: x [N, V] float32, targets int32 [N] (engine/ops/loss.cpp has checked
// the shapes, the device and every target's range).
void check_loss_inputs(const char* op, const Tensor& x, const Tensor& targets) {
  detail::check(op, x, "input");
  detail::check(op, targets, "targets", DType::I32);
}

// The mean over rows of the per-row losses that write_rows ([rows] float32 on the GPU) fills.
template <class WriteRows>
Tensor mean_row_loss(const char* op, const Tensor& x, const Tensor& targets, WriteRows&& write_rows) {
  const int64_t rows = x.dim(0);
  Tensor out = Tensor::empty({}, DType::F32, Device::CUDA);
  detail::with_context(op, {x, targets}, [&] {
    Tensor row_loss = Tensor::empty({rows}, DType::F32, Device::CUDA);
    write_rows(detail::f32(row_loss));
    kernels::sum_launch(detail::f32(row_loss), rows, 1.0f / static_cast<float>(rows), detail::f32(out), cuda::stream());
  });
  return out;
}

}  // namespace

Tensor cross_entropy_probs(const Tensor& probs, const Tensor& targets) {
  const char* op = "cross_entropy_probs";
  check_loss_inputs(op, probs, targets);
  const int64_t rows = probs.dim(0), cols = probs.dim(1);
  Tensor out = mean_row_loss(op, probs, targets, [&](float* row_loss) {
    kernels::xent_probs_forward_launch(detail::f32(probs), targets.data<int32_t>(), row_loss, rows, cols, kKerasEpsilon,
                                       cuda::stream());
  });
  record(op, {probs}, {out}, [=](const std::vector<Tensor>& grads) {
    Tensor gp = grad_buffer(probs);
    detail::with_context(op, {probs, targets}, [&] {
      kernels::xent_probs_backward_launch(detail::f32(probs), targets.data<int32_t>(), detail::f32(grads[0]),
                                          detail::f32(gp), rows, cols, kKerasEpsilon, cuda::stream());
    });
  });
  return out;
}

Tensor cross_entropy_logits(const Tensor& logits, const Tensor& targets) {
  const char* op = "cross_entropy_logits";
  check_loss_inputs(op, logits, targets);
  const int64_t rows = logits.dim(0), vocab = logits.dim(1);
  // The fused kernel writes the mean loss's gradient, (softmax - onehot) / rows, during the
  // forward pass; backward only scales it by the incoming gradient.
  Tensor dlogits = Tensor::empty(logits.shape(), DType::F32, Device::CUDA);
  Tensor out = mean_row_loss(op, logits, targets, [&](float* row_loss) {
    kernels::softmax_xent_launch(detail::f32(logits), targets.data<int32_t>(), row_loss, detail::f32(dlogits), rows,
                                 vocab, 1.0f / static_cast<float>(rows), cuda::stream());
  });
  record(op, {logits}, {out}, [=](const std::vector<Tensor>& grads) {
    Tensor gz = grad_buffer(logits);
    detail::with_context(op, {logits, targets}, [&] {
      kernels::axpy_launch(detail::f32(dlogits), detail::f32(gz), gz.numel(), 1.0f, detail::f32(grads[0]),
                           cuda::stream());
    });
  });
  return out;
}

}  // namespace legato::cuda_ops
