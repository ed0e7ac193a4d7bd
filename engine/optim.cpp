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

// One parameter with a gradient, typed: its weights w [n], gradient g [n] and index k in the list.
template <class T>
struct WithGrad {
  T* w;
  const T* g;
  size_t k;
  int64_t n;
};

// Runs fn(list) once per dtype with the parameters of that dtype that have a gradient (a
// std::vector<WithGrad<T>>, none empty), so that an update can run over all of them at once.
template <class Fn>
void for_each_with_grad(const nn::ParameterList& params, const char* op, Fn&& fn) {
  for (const DType dtype : {DType::F32, DType::F64})
    dispatch_float(dtype, op, [&](auto tag) {
      using T = decltype(tag);
      std::vector<WithGrad<T>> list;
      for (size_t k = 0; k < params.size(); ++k) {
        Tensor w = params[k].tensor;
        Tensor g = w.grad();
        if (!g.defined()) continue;
        dispatch_float(w.dtype(), op, [](auto) {});  // throws on a parameter that is not float
        if (w.dtype() != dtype) continue;
        list.push_back({w.data<T>(), static_cast<const T*>(g.data<T>()), k, w.numel()});
      }
      if (!list.empty()) fn(list);
    });
}

// Elements over all of list, for the one region's threshold (below it a region costs more
// than it saves, as in every pointwise loop here).
template <class T>
int64_t total_elements(const std::vector<WithGrad<T>>& list) {
  int64_t total = 0;
  for (const auto& p : list) total += p.n;
  return total;
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
  // One parallel region for every parameter, each split across the team with no barrier
  // between them: a region per parameter was 16 forks and joins a seed step, each waking the
  // other core. Each element's update is the same arithmetic whichever thread makes it.
  for_each_with_grad(params_, "rmsprop", [&](const auto& list) {
    using T = std::remove_pointer_t<decltype(list[0].w)>;
    const T lr = T(options_.lr), rho = T(options_.rho), eps = T(options_.eps);
#pragma omp parallel if (total_elements(list) >= 65536)
    for (const auto& p : list) {
      T* w = p.w;
      const T* g = p.g;
      T* v = mean_square_[p.k].template data<T>();
#pragma omp for simd schedule(static) nowait
      for (int64_t i = 0; i < p.n; ++i) kernels::rmsprop_update(&w[i], &v[i], g[i], lr, rho, eps);
    }
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
  // One region for every parameter, as RMSprop's.
  for_each_with_grad(params_, "adam", [&](const auto& list) {
    using T = std::remove_pointer_t<decltype(list[0].w)>;
    const T lr = T(lr_t), beta1 = T(options_.beta1), beta2 = T(options_.beta2), eps = T(options_.eps);
#pragma omp parallel if (total_elements(list) >= 65536)
    for (const auto& p : list) {
      T* w = p.w;
      const T* g = p.g;
      T* m = first_moment_[p.k].template data<T>();
      T* v = second_moment_[p.k].template data<T>();
#pragma omp for simd schedule(static) nowait
      for (int64_t i = 0; i < p.n; ++i) kernels::adam_update(&w[i], &m[i], &v[i], g[i], lr, beta1, beta2, eps);
    }
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
