#include "dist/gradients.h"

#include <algorithm>
#include <stdexcept>

namespace legato::dist {

GradientSum::GradientSum(const World& world, nn::ParameterList params) : world_(world), params_(std::move(params)) {
  for (const nn::NamedTensor& p : params_) {
    if (p.tensor.dtype() != DType::F32 || p.tensor.device() != Device::CPU)
      throw std::invalid_argument("gradient sum: " + p.name + " is " + p.tensor.describe() +
                                  "; MPI sums float32 gradients on the CPU (on GPUs: NCCL)");
    gradient_values_ += p.tensor.numel();
  }
}

void GradientSum::sum(float weight, std::vector<float>& extra) {
  flat_.resize(static_cast<size_t>(gradient_values_) + extra.size());
  float* at = flat_.data();
  for (const nn::NamedTensor& p : params_) {
    const Tensor g = p.tensor.grad();
    if (g.defined())
      std::transform(g.data<float>(), g.data<float>() + g.numel(), at, [weight](float v) { return weight * v; });
    else
      std::fill(at, at + p.tensor.numel(), 0.0f);
    at += p.tensor.numel();
  }
  std::copy(extra.begin(), extra.end(), at);
  world_.sum(flat_.data(), values());
  at = flat_.data();
  for (const nn::NamedTensor& p : params_) {
    // Every rank builds the same graph, so a parameter without a gradient has none anywhere.
    if (Tensor g = p.tensor.grad(); g.defined()) std::copy(at, at + p.tensor.numel(), g.data<float>());
    at += p.tensor.numel();
  }
  std::copy(at, at + extra.size(), extra.begin());
}

}  // namespace legato::dist
