// Every op: a central-difference gradient check in float64, float32 against float64, and misuse.
#include <doctest/doctest.h>

#include "activations.h"
#include "engine/ops.h"
#include "gradcheck.h"
#include "kernels/philox.h"

using namespace legato;
using legato::testing::leaf;
using V = std::vector<Tensor>;

namespace {
Tensor targets(std::vector<int32_t> t) { return Tensor::from_indices({static_cast<int64_t>(t.size())}, t); }
}  // namespace

TEST_CASE("gradcheck: add with broadcasting") {
  CHECK_GRADIENTS([](const V& in) { return V{ops::add(in[0], in[1])}; }, (V{leaf({3, 4}, 1), leaf({3, 4}, 2)}));
  CHECK_GRADIENTS([](const V& in) { return V{ops::add(in[0], in[1])}; }, (V{leaf({2, 3, 4}, 3), leaf({4}, 4)}));
  CHECK_GRADIENTS([](const V& in) { return V{ops::add(in[0], in[1])}; }, (V{leaf({3, 1}, 5), leaf({1, 4}, 6)}));
}

TEST_CASE("gradcheck: mul with broadcasting") {
  CHECK_GRADIENTS([](const V& in) { return V{ops::mul(in[0], in[1])}; }, (V{leaf({3, 4}, 7), leaf({3, 4}, 8)}));
  CHECK_GRADIENTS([](const V& in) { return V{ops::mul(in[0], in[1])}; }, (V{leaf({2, 1, 4}, 9), leaf({3, 1}, 10)}));
  // The same tensor twice: both contributions must accumulate (d(x*x) = 2x).
  CHECK_GRADIENTS([](const V& in) { return V{ops::mul(in[0], in[0])}; }, (V{leaf({5}, 11)}));
}

TEST_CASE("gradcheck: scale and every activation") {
  CHECK_GRADIENTS([](const V& in) { return V{ops::scale(in[0], -2.5)}; }, (V{leaf({4, 3}, 12)}));
  // Inputs in [-3, 3), kept away from 0, where relu is not differentiable.
  for (const auto& activation : testing::activations()) {
    CAPTURE(activation.name);
    Tensor x = leaf({4, 3}, 15, -3, 3);
    for (int64_t k = 0; k < x.numel(); ++k) x.data<double>()[k] += x.data<double>()[k] > 0 ? 0.1 : -0.1;
    const auto f = activation.apply;
    CHECK_GRADIENTS([f](const V& in) { return V{f(in[0])}; }, (V{x}));
  }
}

TEST_CASE("gradcheck: matmul with every transpose") {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      CAPTURE(ta);
      CAPTURE(tb);
      const Tensor a = ta ? leaf({4, 3}, 16) : leaf({3, 4}, 16);
      const Tensor b = tb ? leaf({5, 4}, 17) : leaf({4, 5}, 17);
      CHECK_GRADIENTS([&](const V& in) { return V{ops::matmul(in[0], in[1], ta, tb)}; }, (V{a, b}));
    }
}

TEST_CASE("gradcheck: linear") {
  CHECK_GRADIENTS([](const V& in) { return V{ops::linear(in[0], in[1], in[2])}; },
                  (V{leaf({3, 4}, 18), leaf({5, 4}, 19), leaf({5}, 20)}));
}

TEST_CASE("gradcheck: softmax and log_softmax") {
  CHECK_GRADIENTS([](const V& in) { return V{ops::softmax(in[0])}; }, (V{leaf({3, 5}, 21, -2, 2)}));
  CHECK_GRADIENTS([](const V& in) { return V{ops::log_softmax(in[0])}; }, (V{leaf({2, 3, 5}, 22, -2, 2)}));
}

TEST_CASE("gradcheck: cross-entropy on probabilities (Keras) and on logits") {
  const Tensor t = targets({0, 3, 2});
  CHECK_GRADIENTS([&](const V& in) { return V{ops::cross_entropy_probs(ops::softmax(in[0]), t)}; },
                  (V{leaf({3, 4}, 23, -2, 2)}));
  // Unnormalised probabilities: Keras renormalises rows first.
  CHECK_GRADIENTS([&](const V& in) { return V{ops::cross_entropy_probs(in[0], t)}; }, (V{leaf({3, 4}, 24, 0.1, 1.0)}));
  CHECK_GRADIENTS([&](const V& in) { return V{ops::cross_entropy_logits(in[0], t)}; }, (V{leaf({3, 4}, 25, -2, 2)}));
}

TEST_CASE("gradcheck: dropout with a fixed mask") {
  CHECK_GRADIENTS([](const V& in) { return V{ops::dropout(in[0], 0.3, true, 42, 7)}; }, (V{leaf({6, 5}, 26)}));
}

TEST_CASE("gradcheck: embedding") {
  const Tensor idx = Tensor::from_indices({2, 3}, {0, 4, 2, 4, 4, 1});
  CHECK_GRADIENTS([&](const V& in) { return V{ops::embedding(in[0], idx)}; }, (V{leaf({5, 3}, 27)}));
}

TEST_CASE("gradcheck: reshape, slice and concat") {
  CHECK_GRADIENTS([](const V& in) { return V{ops::reshape(in[0], {3, 4})}; }, (V{leaf({2, 6}, 28)}));
  for (int dim : {0, 1, 2}) {
    CAPTURE(dim);
    CHECK_GRADIENTS([&](const V& in) { return V{ops::slice(in[0], dim, 1, 3)}; }, (V{leaf({3, 4, 5}, 29)}));
    CHECK_GRADIENTS(
        [&](const V& in) {
          return V{ops::concat({in[0], in[1], in[0]}, dim)};
        },
        (V{leaf({2, 3, 4}, 30), leaf({2, 3, 4}, 31)}));
  }
}

TEST_CASE("gradcheck: sum and mean") {
  CHECK_GRADIENTS([](const V& in) { return V{ops::sum(in[0])}; }, (V{leaf({3, 4}, 32)}));
  CHECK_GRADIENTS([](const V& in) { return V{ops::mean(in[0])}; }, (V{leaf({3, 4}, 33)}));
}

// ---- float32 against float64 -------------------------------------------------------------

namespace {
// Runs f on float64 inputs and on their float32 copies; the results agree within float32's
// tolerance atol + rtol * |ref| with rtol = 1e-5 (a few ulps of accumulated rounding).
void check_f32_matches_f64(const std::function<Tensor(const V&)>& f, const V& inputs64, double atol = 1e-6) {
  V inputs32;
  for (const Tensor& t : inputs64) inputs32.push_back(t.dtype() == DType::F64 ? t.to(DType::F32) : t);
  NoGradGuard guard;
  const Tensor ref = f(inputs64), got = f(inputs32);
  REQUIRE(got.dtype() == DType::F32);
  REQUIRE(got.shape() == ref.shape());
  int mismatches = 0;
  for (int64_t k = 0; k < ref.numel() && mismatches < 5; ++k) {
    const double tol = atol + 1e-5 * std::abs(ref.at(k));
    if (std::abs(got.at(k) - ref.at(k)) > tol) {
      ++mismatches;
      MESSAGE("element " << k << ": float32 " << got.at(k) << " vs float64 " << ref.at(k));
    }
  }
  CHECK(mismatches == 0);
}
Tensor f64(const Shape& s, uint64_t seed) { return Tensor::uniform(s, -1, 1, seed, DType::F64); }
}  // namespace

TEST_CASE("float32 agrees with float64 for every op") {
  const Tensor a = f64({4, 6}, 40), b = f64({4, 6}, 41), bias = f64({6}, 42), w = f64({5, 6}, 43);
  const Tensor t = targets({1, 0, 5, 2});
  check_f32_matches_f64([](const V& in) { return ops::add(in[0], in[1]); }, {a, bias});
  check_f32_matches_f64([](const V& in) { return ops::mul(in[0], in[1]); }, {a, b});
  check_f32_matches_f64([](const V& in) { return ops::scale(in[0], 0.37); }, {a});
  for (const auto& activation : testing::activations()) {
    const auto f = activation.apply;
    check_f32_matches_f64([f](const V& in) { return f(in[0]); }, {a});
  }
  check_f32_matches_f64([](const V& in) { return ops::matmul(in[0], in[1], false, true); }, {a, w});
  check_f32_matches_f64([](const V& in) { return ops::softmax(in[0]); }, {a});
  check_f32_matches_f64([](const V& in) { return ops::log_softmax(in[0]); }, {a});
  check_f32_matches_f64([&](const V& in) { return ops::cross_entropy_probs(ops::softmax(in[0]), t); }, {a});
  check_f32_matches_f64([&](const V& in) { return ops::cross_entropy_logits(in[0], t); }, {a});
  check_f32_matches_f64([](const V& in) { return ops::dropout(in[0], 0.5, true, 3, 0); }, {a});
  check_f32_matches_f64([](const V& in) { return ops::embedding(in[0], Tensor::from_indices({2}, {3, 1})); }, {a});
  check_f32_matches_f64([](const V& in) { return ops::slice(in[0], 1, 2, 5); }, {a});
  check_f32_matches_f64([](const V& in) { return ops::concat({in[0], in[1]}, 0); }, {a, b});
  check_f32_matches_f64([](const V& in) { return ops::sum(in[0]); }, {a});
  check_f32_matches_f64([](const V& in) { return ops::mean(in[0]); }, {a});
}

// ---- values and misuse ----------------------------------------------------------------------

TEST_CASE("cross_entropy_probs clips as Keras does") {
  // p[target] = 0 would be log(0): Keras clips it to 1e-7, giving -log(1e-7) = 16.118...
  const Tensor p = Tensor::from_values({1, 2}, {0.0, 1.0}, DType::F64);
  CHECK(ops::cross_entropy_probs(p, targets({0})).item() == doctest::Approx(-std::log(1e-7)));
  const Tensor q = Tensor::from_values({2, 3}, {0.2, 0.3, 0.5, 1.0, 1.0, 2.0}, DType::F64);
  CHECK(ops::cross_entropy_probs(q, targets({2, 0})).item() == doctest::Approx((-std::log(0.5) - std::log(0.25)) / 2));
}

TEST_CASE("cross_entropy_logits equals log_softmax then negative log-likelihood") {
  const Tensor z = f64({3, 7}, 50);
  const Tensor ls = ops::log_softmax(z);
  const double expect = -(ls.at(0 * 7 + 6) + ls.at(1 * 7 + 0) + ls.at(2 * 7 + 3)) / 3;
  CHECK(ops::cross_entropy_logits(z, targets({6, 0, 3})).item() == doctest::Approx(expect).epsilon(1e-12));
}

TEST_CASE("dropout: inverted scaling, eval identity, reproducible masks") {
  const Tensor x = Tensor::full({1000}, 1.0, DType::F64);
  const Tensor y = ops::dropout(x, 0.3, true, 9, 0);
  int kept = 0;
  for (int64_t k = 0; k < y.numel(); ++k) {
    const double v = y.at(k);
    CHECK((v == 0.0 || std::abs(v - 1.0 / 0.7) < 1e-12));
    kept += v != 0.0;
  }
  CHECK(kept > 620);  // 700 expected; 4 standard deviations is about 58
  CHECK(kept < 780);
  CHECK(ops::dropout(x, 0.3, true, 9, 0).to_vector() == y.to_vector());
  CHECK(ops::dropout(x, 0.3, true, 9, 1000).to_vector() != y.to_vector());
  CHECK(ops::dropout(x, 0.3, false, 9, 0).to_vector() == x.to_vector());
  // The op walks the stream four elements per Philox call; it must equal the per-element
  // definition that the CUDA kernel uses, for offsets that are not multiples of 4 too.
  const Tensor z = ops::dropout(x, 0.3, true, 9, 7);
  for (int64_t k = 0; k < z.numel(); ++k)
    REQUIRE(z.at(k) == kernels::dropout_scale<double>(9, 7, static_cast<uint64_t>(k), 0.3));
  // The same in float32, at every size and offset around the SIMD loop's partial ends (the ones
  // that fit in one Philox call, too) and above the threshold where it is split across threads.
  for (int64_t n : {1, 2, 3, 4, 5, 8, 13, 70001})
    for (uint64_t offset : {0, 1, 2, 3, 7}) {
      CAPTURE(n);
      CAPTURE(offset);
      const Tensor y32 = ops::dropout(Tensor::full({n}, 1.0), 0.3, true, 11, offset);
      int64_t wrong = 0;
      for (int64_t k = 0; k < n; ++k)
        wrong += y32.at(k) != kernels::dropout_scale<float>(11, offset, static_cast<uint64_t>(k), 0.3f);
      CHECK(wrong == 0);
    }
  CHECK_THROWS_WITH_AS(ops::dropout(x, 1.0, true, 9, 0), doctest::Contains("p must be in [0, 1)"),
                       std::invalid_argument);
}

TEST_CASE("misuse throws naming the op and the shapes") {
  const Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 5});
  CHECK_THROWS_WITH_AS(ops::matmul(a, b), doctest::Contains("matmul: a is float32 [2, 3]"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::add(a, b), doctest::Contains("add: shapes [2, 3] and [4, 5] do not broadcast"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::add(a, Tensor::zeros({2, 3}, DType::F64)),
                       doctest::Contains("a is float32 [2, 3] but b is float64 [2, 3]"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::embedding(a, Tensor::from_indices({1}, {7})), doctest::Contains("index 7"),
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(ops::cross_entropy_logits(a, targets({0, 3})), doctest::Contains("target 3 at row 1"),
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(ops::slice(a, 1, 2, 4), doctest::Contains("slice: [2, 4) along dimension 1"), std::out_of_range);
  CHECK_THROWS_WITH_AS(ops::concat({a, b}, 0), doctest::Contains("differ outside dimension 0"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::reshape(a, {4}), doctest::Contains("cannot reshape float32 [2, 3] to [4]"),
                       std::invalid_argument);
}
