// Every op of the table (tests/op_table.h): a central-difference gradient check in float64 and
// float32 against float64; then values and misuse, op by op.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/ops.h"
#include "gradcheck.h"
#include "kernels/philox.h"
#include "op_table.h"

using namespace legato;
using V = std::vector<Tensor>;

namespace {
Tensor targets(std::vector<int32_t> t) { return Tensor::from_indices({static_cast<int64_t>(t.size())}, t); }
}  // namespace

// Every row of the op table (tests/op_table.h) on its small inputs; relative error at most 1e-6.
TEST_CASE("gradcheck: every op of the table") {
  for (const testing::OpCase& row : testing::op_table()) {
    CAPTURE(row.name);
    const auto& apply = row.apply;
    CHECK_GRADIENTS([&apply](const V& in) { return V{apply(in)}; }, row.inputs(false));
  }
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

TEST_CASE("float32 agrees with float64 for every op of the table") {
  for (const testing::OpCase& row : testing::op_table()) {
    CAPTURE(row.name);
    check_f32_matches_f64(row.apply, row.inputs(false));
  }
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

TEST_CASE("dropout: its gradient is g times the mask, written into a fresh buffer or added to one") {
  // Above the threshold where both passes split across threads, at an offset that is not a
  // multiple of 4; g has negative elements, so dropped ones give g · 0 = -0.
  const int64_t n = 70001;
  const uint64_t seed = 5, offset = 3;
  Tensor x = Tensor::uniform({n}, -1, 1, 41).set_requires_grad(true);
  const Tensor g = Tensor::uniform({n}, -1, 1, 42);
  ops::dropout(x, 0.3, true, seed, offset).backward(g);
  const std::vector<double> first = x.grad().to_vector();
  int64_t wrong = 0, negative_zeros = 0;
  for (int64_t k = 0; k < n; ++k) {
    const float m = kernels::dropout_scale<float>(seed, offset, static_cast<uint64_t>(k), 0.3f);
    const float expected = 0.0f + static_cast<float>(g.at(k)) * m;  // what zeros += g · m gave
    wrong += static_cast<float>(first[k]) != expected;
    negative_zeros += std::signbit(first[k]) && first[k] == 0;
  }
  CHECK(wrong == 0);
  CHECK(negative_zeros == 0);  // the zeroed buffer's +0 + -0 is +0; writing g · m alone would not be
  // A second use of x adds to the gradient already there.
  ops::dropout(x, 0.3, true, seed, offset).backward(g);
  const std::vector<double> second = x.grad().to_vector();
  wrong = 0;
  for (int64_t k = 0; k < n; ++k) {
    const float m = kernels::dropout_scale<float>(seed, offset, static_cast<uint64_t>(k), 0.3f);
    wrong += static_cast<float>(second[k]) != static_cast<float>(first[k]) + static_cast<float>(g.at(k)) * m;
  }
  CHECK(wrong == 0);
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
