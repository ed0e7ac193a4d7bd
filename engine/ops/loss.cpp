// Categorical cross-entropy, in the seed's form (on probabilities, as Keras computes it) and
// fused with log-softmax on logits (our stable default). Both average over rows.
#include <cmath>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/eigen_maps.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "engine/ops/softmax_row.h"
#include "kernels/loss.h"

namespace legato::ops {

namespace detail {
void check_targets(const char* op, const Tensor& targets, int64_t rows, int64_t classes) {
  check_cpu(op, targets, "targets");
  if (targets.dtype() != DType::I32 || targets.ndim() != 1 || targets.dim(0) != rows)
    throw std::invalid_argument(std::string(op) + ": targets must be int32 [" + std::to_string(rows) + "], got " +
                                targets.describe());
  const int32_t* t = targets.data<int32_t>();
  for (int64_t r = 0; r < rows; ++r)
    if (t[r] < 0 || t[r] >= classes)
      throw std::out_of_range(std::string(op) + ": target " + std::to_string(t[r]) + " at row " + std::to_string(r) +
                              " is outside [0, " + std::to_string(classes) + ")");
}
}  // namespace detail

namespace {
// Keras' backend epsilon: probabilities are clipped to [eps, 1 - eps] before the log.
constexpr double kKerasEpsilon = 1e-7;

// Both devices: GPU targets are checked from a host copy, since a bad one would read outside its
// row there.
void check_loss_inputs(const char* op, const Tensor& x, const Tensor& targets) {
  if (!x.defined() || !targets.defined()) throw std::invalid_argument(std::string(op) + ": input or targets undefined");
  detail::check_same_device(op, targets, "targets", x, "input");
  detail::check_ndim(op, x, "input", 2);
  detail::check_targets(op, targets.device() == Device::CPU ? targets : targets.to(Device::CPU), x.dim(0), x.dim(1));
}
}  // namespace

Tensor cross_entropy_probs(const Tensor& probs, const Tensor& targets) {
  const char* op = "cross_entropy_probs";
  check_loss_inputs(op, probs, targets);
  LEGATO_ROUTE_TO_CUDA(probs, cuda_ops::cross_entropy_probs(probs, targets));
  const int64_t rows = probs.dim(0);
  Tensor out = Tensor::empty({}, probs.dtype());
  dispatch_float(probs.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    auto p = as_matrix<T>(probs, rows);
    const int32_t* t = targets.data<int32_t>();
    T total = 0;
    for (int64_t r = 0; r < rows; ++r) total += kernels::keras_xent_loss(p(r, t[r]), p.row(r).sum(), T(kKerasEpsilon));
    out.data<T>()[0] = total / static_cast<T>(rows);
  });
  record(op, {probs}, {out}, [=](const std::vector<Tensor>& grads) {
    Tensor gp = grad_buffer(probs);
    dispatch_float(probs.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      auto p = as_matrix<T>(probs, rows);
      auto dp = as_matrix<T>(gp, rows);
      const int32_t* t = targets.data<int32_t>();
      const T g = grads[0].data<T>()[0] / static_cast<T>(rows);
      for (int64_t r = 0; r < rows; ++r) {
        const T total = p.row(r).sum(), p_t = p(r, t[r]);
        if (kernels::keras_xent_clipped(p_t, total, T(kKerasEpsilon))) continue;  // no gradient
        for (int64_t j = 0; j < p.cols(); ++j) dp(r, j) = kernels::keras_xent_grad(dp(r, j), p_t, total, j == t[r], g);
      }
    });
  });
  return out;
}

Tensor cross_entropy_logits(const Tensor& logits, const Tensor& targets) {
  const char* op = "cross_entropy_logits";
  check_loss_inputs(op, logits, targets);
  LEGATO_ROUTE_TO_CUDA(logits, cuda_ops::cross_entropy_logits(logits, targets));
  const int64_t rows = logits.dim(0);
  Tensor out = Tensor::empty({}, logits.dtype());
  // The softmax is kept for backward: dlogits = (softmax - onehot) / rows.
  Tensor soft = Tensor::empty(logits.shape(), logits.dtype());
  dispatch_float(logits.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    auto z = as_matrix<T>(logits, rows);
    auto s = as_matrix<T>(soft, rows);
    const int32_t* t = targets.data<int32_t>();
    T total = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const auto row = detail::softmax_row(z.row(r), s.row(r), false);
      total += kernels::softmax_xent_loss(z(r, t[r]), row.max, row.sum);
    }
    out.data<T>()[0] = total / static_cast<T>(rows);
  });
  record(op, {logits}, {out}, [=](const std::vector<Tensor>& grads) {
    Tensor gz = grad_buffer(logits);
    dispatch_float(logits.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      auto s = as_matrix<T>(soft, rows);
      auto dz = as_matrix<T>(gz, rows);
      const int32_t* t = targets.data<int32_t>();
      const T g = grads[0].data<T>()[0] / static_cast<T>(rows);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < s.cols(); ++j) dz(r, j) = kernels::softmax_xent_grad(dz(r, j), s(r, j), j == t[r], g);
    });
  });
  return out;
}

}  // namespace legato::ops
