#pragma once
// Central-difference gradient checks in float64 (the StYLE guide's rule: never float32 finite
// differences). f maps the inputs to one or more outputs; the check projects the outputs on fixed
// random weights r_k, L = sum_k <r_k, y_k>, and compares dL/dx from backward() with
// (L(x + eps) - L(x - eps)) / (2 eps) for every element of every input that requires a gradient.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"

namespace legato::testing {

using MultiFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

struct GradcheckReport {
  double max_error = 0;  // the largest relative error seen
  std::string worst;     // where it was
};

// Relative error |a - n| / max(|a|, |n|, floor): relative for gradients of ordinary size, and
// no stricter than the floor for gradients near zero, where cancellation in the difference
// quotient (about 1e-16 / eps) is all that remains.
inline double relative_error(double analytic, double numeric, double floor = 1e-3) {
  return std::abs(analytic - numeric) / std::max({std::abs(analytic), std::abs(numeric), floor});
}

inline GradcheckReport gradcheck(const MultiFn& f, std::vector<Tensor> inputs, double eps = 1e-6) {
  for (const Tensor& in : inputs) REQUIRE((!in.defined() || in.dtype() != DType::F32));
  // Fixed projection weights, one per output.
  std::vector<Tensor> weights;
  {
    NoGradGuard guard;
    const std::vector<Tensor> ys = f(inputs);
    for (size_t k = 0; k < ys.size(); ++k)
      weights.push_back(Tensor::uniform(ys[k].shape(), -1.0, 1.0, 1000 + k, DType::F64));
  }
  auto projected = [&](const std::vector<Tensor>& ys) {
    Tensor total;
    for (size_t k = 0; k < ys.size(); ++k) {
      Tensor part = ops::sum(ops::mul(ys[k], weights[k]));
      total = total.defined() ? ops::add(total, part) : part;
    }
    return total;
  };
  for (Tensor& in : inputs)
    if (in.defined()) in.zero_grad();
  projected(f(inputs)).backward();

  GradcheckReport report;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor in = inputs[i];
    if (!in.defined() || !in.requires_grad()) continue;
    const Tensor grad = in.grad();
    REQUIRE_MESSAGE(grad.defined(), "input " << i << " received no gradient");
    double* x = in.data<double>();
    for (int64_t e = 0; e < in.numel(); ++e) {
      const double saved = x[e];
      NoGradGuard guard;
      x[e] = saved + eps;
      const double up = projected(f(inputs)).item();
      x[e] = saved - eps;
      const double down = projected(f(inputs)).item();
      x[e] = saved;
      const double numeric = (up - down) / (2 * eps);
      const double err = relative_error(grad.at(e), numeric);
      if (err > report.max_error) {
        report.max_error = err;
        report.worst = "input " + std::to_string(i) + " element " + std::to_string(e) + ": analytic " +
                       std::to_string(grad.at(e)) + ", numeric " + std::to_string(numeric);
      }
    }
  }
  return report;
}

// The gradient check every op must pass: relative error at most 1e-6.
#define CHECK_GRADIENTS(f, inputs)                                                          \
  do {                                                                                      \
    const auto report_ = ::legato::testing::gradcheck((f), (inputs));                       \
    INFO("worst: " << report_.worst);                                                       \
    CHECK(report_.max_error <= 1e-6);                                                       \
    if (std::getenv("LEGATO_VERBOSE")) MESSAGE("max relative error " << report_.max_error); \
  } while (0)

// A float64 leaf for checks: uniform in [low, high).
inline Tensor leaf(const Shape& shape, uint64_t seed, double low = -1.0, double high = 1.0) {
  return Tensor::uniform(shape, low, high, seed, DType::F64).set_requires_grad(true);
}

}  // namespace legato::testing
