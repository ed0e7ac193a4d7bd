// The fused multi-tensor optimiser steps and the global gradient norm on CUDA.
#include <algorithm>
#include <cmath>

#include "engine/cuda/common.h"
#include "engine/optim.h"
#include "kernels/optim.h"

namespace legato::cuda_ops {
namespace {

// One slot per parameter that has a gradient; m and v may be empty (not used by the rule).
std::vector<kernels::OptimSlot> slots_of(const char* op, const std::vector<Tensor>& params,
                                         const std::vector<Tensor>& m, const std::vector<Tensor>& v) {
  std::vector<kernels::OptimSlot> slots;
  for (size_t k = 0; k < params.size(); ++k) {
    Tensor w = params[k];
    Tensor g = w.grad();
    if (!g.defined()) continue;
    detail::check(op, w, "a parameter");
    detail::check(op, g, "a gradient");
    kernels::OptimSlot s;
    s.w = detail::f32(w);
    s.g = detail::f32(g);
    if (!m.empty()) s.m = Tensor(m[k]).data<float>();  // a handle: the copy shares the slot's storage
    if (!v.empty()) s.v = Tensor(v[k]).data<float>();
    s.n = w.numel();
    slots.push_back(s);
  }
  return slots;
}

}  // namespace

void rmsprop_step(const std::vector<Tensor>& params, const std::vector<Tensor>& v, double lr, double rho, double eps) {
  const auto slots = slots_of("rmsprop", params, {}, v);
  if (slots.empty()) return;
  kernels::rmsprop_multi_launch(slots.data(), static_cast<int>(slots.size()), static_cast<float>(lr),
                                static_cast<float>(rho), static_cast<float>(eps), cuda::stream());
}

void adam_step(const std::vector<Tensor>& params, const std::vector<Tensor>& m, const std::vector<Tensor>& v,
               double lr_t, double beta1, double beta2, double eps) {
  const auto slots = slots_of("adam", params, m, v);
  if (slots.empty()) return;
  kernels::adam_multi_launch(slots.data(), static_cast<int>(slots.size()), static_cast<float>(lr_t),
                             static_cast<float>(beta1), static_cast<float>(beta2), static_cast<float>(eps),
                             cuda::stream());
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  const auto slots = slots_of("clip_grad_norm", params, {}, {});
  if (slots.empty()) return 0.0;
  const int count = static_cast<int>(slots.size());
  Tensor total = Tensor::empty({}, DType::F32, Device::CUDA);
  // From the caching allocator; released while the kernels may still run, which is safe: all
  // work is queued in order on one stream, so a later user of the block comes after them.
  Tensor partials = Tensor::empty({std::max<int64_t>(kernels::sum_of_squares_partials(slots.data(), count), 1)},
                                  DType::F32, Device::CUDA);
  kernels::sum_of_squares_multi_launch(slots.data(), count, detail::f32(partials), detail::f32(total), cuda::stream());
  const double norm = std::sqrt(total.item());  // the one read-back: the factor is decided on the host
  if (norm > max_norm)
    kernels::scale_grads_multi_launch(slots.data(), static_cast<int>(slots.size()), static_cast<float>(max_norm / norm),
                                      cuda::stream());
  return norm;
}

}  // namespace legato::cuda_ops
