#include "engine/optim.h"

#include <cmath>
#include <stdexcept>

#include "engine/dispatch.h"
#include "engine/eigen_maps.h"
#include "engine/ops/checks.h"
#include "kernels/optim.h"

namespace legato::optim {
namespace {

std::vector<Tensor> zeros_like_each(const nn::ParameterList& params) {
  std::vector<Tensor> out;
  for (const auto& p : params) out.push_back(Tensor::zeros(p.tensor.shape(), p.tensor.dtype(), p.tensor.device()));
  return out;
}

[[maybe_unused]] std::vector<Tensor> tensors_of(const nn::ParameterList& params) {
  std::vector<Tensor> out;
  for (const auto& p : params) out.push_back(p.tensor);
  return out;
}

// The device every parameter lives on (the optimisers update them all in one place).
Device common_device(const nn::ParameterList& params) {
  if (params.empty()) return Device::CPU;
  for (const auto& p : params)
    if (p.tensor.device() != params[0].tensor.device())
      throw std::invalid_argument("optimizer: parameter " + p.name + " is " + p.tensor.describe() + " but " +
                                  params[0].name + " is " + params[0].tensor.describe());
  return params[0].tensor.device();
}

nn::ParameterList named_state(const nn::ParameterList& params, const std::vector<Tensor>& slots) {
  nn::ParameterList out;
  for (size_t k = 0; k < params.size(); ++k) out.push_back({params[k].name, slots[k]});
  return out;
}

// Runs fn(w, g, k, n) over every parameter that has a gradient, typed by its dtype.
template <class Fn>
void for_each_with_grad(const nn::ParameterList& params, const char* op, Fn&& fn) {
  for (size_t k = 0; k < params.size(); ++k) {
    Tensor w = params[k].tensor;
    Tensor g = w.grad();
    if (!g.defined()) continue;
    dispatch_float(w.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      fn(w.data<T>(), static_cast<const T*>(g.data<T>()), k, w.numel());
    });
  }
}

}  // namespace

Optimizer::Optimizer(nn::ParameterList params) : params_(std::move(params)) {
  common_device(params_);
  for (const auto& p : params_)
    if (!p.tensor.requires_grad())
      throw std::invalid_argument("optimizer: parameter " + p.name + " does not require a gradient");
}

void Optimizer::zero_grad() {
  for (auto& p : params_) p.tensor.zero_grad();
}

Rmsprop::Rmsprop(nn::ParameterList params, RmspropOptions options)
    : Optimizer(std::move(params)), options_(options), mean_square_(zeros_like_each(params_)) {
  if (!(options.lr > 0) || !(options.rho >= 0 && options.rho < 1) || !(options.eps > 0))
    throw std::invalid_argument("rmsprop: need lr > 0, 0 <= rho < 1 and eps > 0");
}

void Rmsprop::step() {
  ++steps_;
  LEGATO_ROUTE_TO_CUDA_IF(
      common_device(params_) == Device::CUDA,
      cuda_ops::rmsprop_step(tensors_of(params_), mean_square_, options_.lr, options_.rho, options_.eps));
  for_each_with_grad(params_, "rmsprop", [&](auto* w, const auto* g, size_t k, int64_t n) {
    using T = std::remove_pointer_t<decltype(w)>;
    T* v = mean_square_[k].data<T>();
    const T lr = T(options_.lr), rho = T(options_.rho), eps = T(options_.eps);
#pragma omp parallel for simd schedule(static) if (n >= 65536)
    for (int64_t i = 0; i < n; ++i) kernels::rmsprop_update(&w[i], &v[i], g[i], lr, rho, eps);
  });
}

std::vector<nn::ParameterList> Rmsprop::state() const { return {named_state(params_, mean_square_)}; }

Adam::Adam(nn::ParameterList params, AdamOptions options)
    : Optimizer(std::move(params)),
      options_(options),
      first_moment_(zeros_like_each(params_)),
      second_moment_(zeros_like_each(params_)) {
  if (!(options.lr > 0) || !(options.beta1 >= 0 && options.beta1 < 1) || !(options.beta2 >= 0 && options.beta2 < 1))
    throw std::invalid_argument("adam: need lr > 0 and betas in [0, 1)");
}

void Adam::step() {
  ++steps_;
  const double t = static_cast<double>(steps_);
  const double lr_t = options_.lr * std::sqrt(1.0 - std::pow(options_.beta2, t)) / (1.0 - std::pow(options_.beta1, t));
  LEGATO_ROUTE_TO_CUDA_IF(common_device(params_) == Device::CUDA,
                          cuda_ops::adam_step(tensors_of(params_), first_moment_, second_moment_, lr_t, options_.beta1,
                                              options_.beta2, options_.eps));
  for_each_with_grad(params_, "adam", [&](auto* w, const auto* g, size_t k, int64_t n) {
    using T = std::remove_pointer_t<decltype(w)>;
    T* m = first_moment_[k].data<T>();
    T* v = second_moment_[k].data<T>();
#pragma omp parallel for simd schedule(static) if (n >= 65536)
    for (int64_t i = 0; i < n; ++i)
      kernels::adam_update(&w[i], &m[i], &v[i], g[i], T(lr_t), T(options_.beta1), T(options_.beta2), T(options_.eps));
  });
}

std::vector<nn::ParameterList> Adam::state() const {
  return {named_state(params_, first_moment_), named_state(params_, second_moment_)};
}

double clip_grad_norm(const nn::ParameterList& params, double max_norm) {
  if (!(max_norm > 0)) throw std::invalid_argument("clip_grad_norm: max_norm must be positive");
  LEGATO_ROUTE_TO_CUDA_IF(common_device(params) == Device::CUDA,
                          cuda_ops::clip_grad_norm(tensors_of(params), max_norm));
  double total = 0;
  for (const auto& p : params) {
    const Tensor g = p.tensor.grad();
    if (!g.defined()) continue;
    dispatch_float(g.dtype(), "clip_grad_norm",
                   [&](auto tag) { total += static_cast<double>(as_array<decltype(tag)>(g).square().sum()); });
  }
  const double norm = std::sqrt(total);
  if (norm > max_norm) {
    const double factor = max_norm / norm;
    for (const auto& p : params) {
      Tensor g = p.tensor.grad();
      if (!g.defined()) continue;
      dispatch_float(g.dtype(), "clip_grad_norm", [&](auto tag) {
        using T = decltype(tag);
        as_array<T>(g) *= static_cast<T>(factor);
      });
    }
  }
  return norm;
}

}  // namespace legato::optim
