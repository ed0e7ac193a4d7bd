// Optimisers against their formulas written out by hand, and global-norm clipping.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/optim.h"
#include "kernels/optim.h"

using namespace legato;

namespace {
nn::ParameterList one_param(Tensor w, std::vector<double> grad) {
  w.set_requires_grad(true);
  w.impl()->grad = Tensor::from_values(w.shape(), grad, w.dtype()).impl_ptr();
  return {{"w", w}};
}
}  // namespace

TEST_CASE("rmsprop follows Keras' formula") {
  const nn::ParameterList params = one_param(Tensor::from_values({2}, {1.0, -2.0}, DType::F64), {0.5, -3.0});
  optim::Rmsprop opt(params);  // lr 0.001, rho 0.9, eps 1e-7
  double w0 = 1.0, v0 = 0.0, w1 = -2.0, v1 = 0.0;
  for (int step = 0; step < 3; ++step) {
    opt.step();
    v0 = 0.9 * v0 + 0.1 * 0.25;
    w0 -= 0.001 * 0.5 / (std::sqrt(v0) + 1e-7);
    v1 = 0.9 * v1 + 0.1 * 9.0;
    w1 -= 0.001 * -3.0 / (std::sqrt(v1) + 1e-7);
  }
  const Tensor w = params[0].tensor;
  CHECK(w.at(0) == doctest::Approx(w0).epsilon(1e-14));
  CHECK(w.at(1) == doctest::Approx(w1).epsilon(1e-14));
  CHECK(opt.state()[0][0].tensor.at(1) == doctest::Approx(v1).epsilon(1e-14));
}

TEST_CASE("rmsprop: many float32 parameters updated at once, each element as the formula alone gives it") {
  // 70,000 elements in all (over the threshold of the one parallel region), in parameters of
  // odd sizes, one of them without a gradient (left alone).
  nn::ParameterList params;
  std::vector<std::vector<float>> w, g;
  const std::vector<int64_t> sizes{1, 17, 30000, 5, 39977};
  for (size_t k = 0; k < sizes.size(); ++k) {
    Tensor t = Tensor::uniform({sizes[k]}, -1, 1, 50 + k).set_requires_grad(true);
    const Tensor grad = Tensor::uniform({sizes[k]}, -2, 2, 60 + k);
    if (k != 3) t.impl()->grad = grad.impl_ptr();
    const std::vector<double> tv = t.to_vector(), gv = grad.to_vector();
    w.emplace_back(tv.begin(), tv.end());
    g.emplace_back(gv.begin(), gv.end());
    std::string name = "p";  // appended, not "p" + std::to_string(k): GCC 12 warns falsely about that
    name += std::to_string(k);
    params.push_back({name, t});
  }
  optim::Rmsprop opt(params, {0.01, 0.9, 1e-7});
  std::vector<std::vector<float>> v;
  for (const auto& wk : w) v.emplace_back(wk.size(), 0.0f);
  for (int step = 0; step < 2; ++step) {
    opt.step();
    for (size_t k = 0; k < w.size(); ++k)
      for (size_t i = 0; k != 3 && i < w[k].size(); ++i)
        kernels::rmsprop_update(&w[k][i], &v[k][i], g[k][i], 0.01f, 0.9f, 1e-7f);
  }
  for (size_t k = 0; k < w.size(); ++k) {
    CAPTURE(k);
    const std::vector<double> got = params[k].tensor.to_vector(), slot = opt.state()[0][k].tensor.to_vector();
    int64_t wrong = 0;
    for (size_t i = 0; i < w[k].size(); ++i)
      wrong += static_cast<float>(got[i]) != w[k][i] || static_cast<float>(slot[i]) != v[k][i];
    CHECK(wrong == 0);
  }
}

TEST_CASE("adam follows its formula with bias correction") {
  const nn::ParameterList params = one_param(Tensor::from_values({1}, {0.3}, DType::F64), {0.2});
  optim::Adam opt(params, {0.01, 0.9, 0.999, 1e-7});
  double w = 0.3, m = 0, v = 0;
  for (int t = 1; t <= 4; ++t) {
    opt.step();
    m = 0.9 * m + 0.1 * 0.2;
    v = 0.999 * v + 0.001 * 0.04;
    const double lr_t = 0.01 * std::sqrt(1 - std::pow(0.999, t)) / (1 - std::pow(0.9, t));
    w -= lr_t * m / (std::sqrt(v) + 1e-7);
  }
  CHECK(params[0].tensor.at(0) == doctest::Approx(w).epsilon(1e-14));
}

TEST_CASE("clip_grad_norm scales all gradients by the global norm") {
  Tensor a = Tensor::zeros({2}, DType::F64).set_requires_grad(true);
  Tensor b = Tensor::zeros({1}, DType::F64).set_requires_grad(true);
  a.impl()->grad = Tensor::from_values({2}, {3, 0}, DType::F64).impl_ptr();
  b.impl()->grad = Tensor::from_values({1}, {4}, DType::F64).impl_ptr();
  const nn::ParameterList params{{"a", a}, {"b", b}};
  CHECK(optim::clip_grad_norm(params, 10.0) == doctest::Approx(5.0));
  CHECK(a.grad().at(0) == 3.0);  // under the limit: unchanged
  CHECK(optim::clip_grad_norm(params, 1.0) == doctest::Approx(5.0));
  CHECK(a.grad().at(0) == doctest::Approx(0.6));
  CHECK(b.grad().at(0) == doctest::Approx(0.8));
  CHECK_THROWS_AS(optim::clip_grad_norm(params, 0.0), std::invalid_argument);
}

TEST_CASE("optimisers refuse parameters without gradients and bad options") {
  CHECK_THROWS_WITH_AS(optim::Rmsprop({{"w", Tensor::zeros({1})}}), doctest::Contains("parameter w"),
                       std::invalid_argument);
  Tensor w = Tensor::zeros({1}).set_requires_grad(true);
  CHECK_THROWS_AS(optim::Rmsprop({{"w", w}}, {-1.0, 0.9, 1e-7}), std::invalid_argument);
}
