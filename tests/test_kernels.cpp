// The per-element bodies that the CUDA kernels run, checked on the CPU.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/ops.h"
#include "kernels/elementwise.h"
#include "kernels/loss.h"
#include "kernels/lstm.h"
#include "kernels/philox.h"
#include "kernels/softmax.h"

using namespace legato::kernels;

TEST_CASE("philox4x32-10 matches Random123's known-answer vectors") {
  // kat_vectors of Random123 1.09: philox4x32 10 rounds.
  const Philox4 zero = philox4x32_10(Philox4{{0, 0, 0, 0}}, 0, 0);
  CHECK(zero.v[0] == 0x6627e8d5u);
  CHECK(zero.v[1] == 0xe169c58du);
  CHECK(zero.v[2] == 0xbc57ac4cu);
  CHECK(zero.v[3] == 0x9b00dbd8u);
  const Philox4 ones =
      philox4x32_10(Philox4{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu, 0xffffffffu);
  CHECK(ones.v[0] == 0x408f276du);
  CHECK(ones.v[1] == 0x41c83b0eu);
  CHECK(ones.v[2] == 0xa20bc7c6u);
  CHECK(ones.v[3] == 0x6d5451fdu);
  const Philox4 pi =
      philox4x32_10(Philox4{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u, 0x299f31d0u);
  CHECK(pi.v[0] == 0xd16cfe09u);
  CHECK(pi.v[1] == 0x94fdccebu);
  CHECK(pi.v[2] == 0x5001e420u);
  CHECK(pi.v[3] == 0x24126ea1u);
}

TEST_CASE("philox uniforms: in [0, 1), offsets shift the stream, mean near 1/2") {
  double total = 0;
  const int n = 40000;
  for (int i = 0; i < n; ++i) {
    const float u = philox_uniform(5, 0, i);
    CHECK_UNARY(u >= 0.0f);
    CHECK_UNARY(u < 1.0f);
    total += u;
    if (i < 100) CHECK(philox_uniform(5, 8, i) == philox_uniform(5, 0, i + 8));
  }
  CHECK(total / n == doctest::Approx(0.5).epsilon(0.01));
}

TEST_CASE("lstm cell body: float32 agrees with float64, backward matches central differences") {
  const double a[4] = {0.3, -1.2, 0.7, 2.0}, c_prev = -0.4;
  double c64, h64;
  const LstmGates<double> g64 = lstm_cell_forward(a[0], a[1], a[2], a[3], c_prev, &c64, &h64);
  float c32, h32;
  lstm_cell_forward(float(a[0]), float(a[1]), float(a[2]), float(a[3]), float(c_prev), &c32, &h32);
  CHECK(c32 == doctest::Approx(c64).epsilon(1e-6));
  CHECK(h32 == doctest::Approx(h64).epsilon(1e-6));
  // d/da_k of L = wh * h + wc * c, against central differences.
  const double wh = 0.8, wc = -1.3, eps = 1e-6;
  double carry;
  const LstmGates<double> d = lstm_cell_backward(g64, c_prev, c64, wh, wc, &carry);
  const double analytic[4] = {d.i, d.f, d.g, d.o};
  for (int k = 0; k < 4; ++k) {
    double up[4] = {a[0], a[1], a[2], a[3]}, down[4] = {a[0], a[1], a[2], a[3]};
    up[k] += eps;
    down[k] -= eps;
    double cu, hu, cd, hd;
    lstm_cell_forward(up[0], up[1], up[2], up[3], c_prev, &cu, &hu);
    lstm_cell_forward(down[0], down[1], down[2], down[3], c_prev, &cd, &hd);
    CHECK(analytic[k] == doctest::Approx((wh * (hu - hd) + wc * (cu - cd)) / (2 * eps)).epsilon(1e-7));
  }
  double cu, hu, cd, hd;
  lstm_cell_forward(a[0], a[1], a[2], a[3], c_prev + eps, &cu, &hu);
  lstm_cell_forward(a[0], a[1], a[2], a[3], c_prev - eps, &cd, &hd);
  CHECK(carry == doctest::Approx((wh * (hu - hd) + wc * (cu - cd)) / (2 * eps)).epsilon(1e-7));
}

namespace {
// softmax.h's Row as a third device would write it: one element at a time, std::exp, nothing kept
// between the sum and the write (f evaluated again, as the GPU's BlockRow does).
struct ScalarRow {
  using Scalar = double;
  const double* x;
  double* y;
  int64_t cols;
  double max() const {
    double m = x[0];
    for (int64_t j = 1; j < cols; ++j) m = std::max(m, x[j]);
    return m;
  }
  template <class F>
  double sum(F f) const {
    double s = 0;
    for (int64_t j = 0; j < cols; ++j) s += f(x[j]);
    return s;
  }
  template <class F, class G>
  void write(F f, G g) const {
    for (int64_t j = 0; j < cols; ++j) y[j] = g(x[j], f(x[j]));
  }
  static double exp(double v) { return std::exp(v); }
  static double log(double v) { return std::log(v); }
};
}  // namespace

TEST_CASE("softmax body: element by element it gives the CPU ops' softmax and log-softmax (Eigen's rows)") {
  const int64_t rows = 3, cols = 9;
  // Large logits: without the maximum subtracted, exp(800) overflows to inf.
  legato::Tensor z = legato::Tensor::uniform({rows, cols}, -3, 3, 23, legato::DType::F64);
  z.data<double>()[4] = 800;
  const legato::Tensor p = legato::ops::softmax(z), lp = legato::ops::log_softmax(z);
  std::vector<double> y(cols), ly(cols);
  for (int64_t r = 0; r < rows; ++r) {
    ScalarRow row{z.data<double>() + r * cols, y.data(), cols}, log_row{row.x, ly.data(), cols};
    const SoftmaxStats<double> stats = softmax_row(row, false);
    softmax_row(log_row, true);
    double total = 0;
    for (int64_t j = 0; j < cols; ++j) {
      total += y[j];
      CHECK(y[j] == doctest::Approx(p.at(r * cols + j)).epsilon(1e-14));
      CHECK(ly[j] == doctest::Approx(lp.at(r * cols + j)).epsilon(1e-14));
    }
    CHECK(total == doctest::Approx(1.0).epsilon(1e-14));
    CHECK(stats.max == *std::max_element(row.x, row.x + cols));
  }
  CHECK(p.at(4) == doctest::Approx(1.0));
}

TEST_CASE("softmax cross-entropy body matches the engine's fused op, loss and gradient") {
  const int64_t rows = 3, vocab = 7;
  const legato::Tensor z =
      legato::Tensor::uniform({rows, vocab}, -3, 3, 21, legato::DType::F64).set_requires_grad(true);
  const std::vector<int32_t> t = {4, 0, 6};
  legato::Tensor loss = legato::ops::cross_entropy_logits(z, legato::Tensor::from_indices({rows}, t));
  loss.backward();
  double total = 0;
  std::vector<double> p(vocab);
  for (int64_t r = 0; r < rows; ++r) {
    ScalarRow row{z.data<double>() + r * vocab, p.data(), vocab};
    const SoftmaxStats<double> stats = softmax_row(row, false);
    total += softmax_xent_loss(z.at(r * vocab + t[r]), stats.max, stats.sum);
    for (int64_t j = 0; j < vocab; ++j)
      CHECK(softmax_xent_grad(0.0, p[j], j == t[r], 1.0 / rows) ==
            doctest::Approx(z.grad().at(r * vocab + j)).epsilon(1e-12));
  }
  CHECK(total / rows == doctest::Approx(loss.item()).epsilon(1e-12));
}

TEST_CASE("activation bodies: each gradient, written in terms of the output, is the derivative") {
  for (UnaryKind kind : {UnaryKind::Sigmoid, UnaryKind::Tanh, UnaryKind::Relu})
    for (double x : {-2.5, -0.3, 0.4, 1.7}) {
      CAPTURE(static_cast<int>(kind));
      CAPTURE(x);
      const double h = 1e-6, y = activate(kind, x);
      const double numeric = (activate(kind, x + h) - activate(kind, x - h)) / (2 * h);
      CHECK(activation_grad(kind, y, 2.0) == doctest::Approx(2.0 * numeric).epsilon(1e-8));
    }
  CHECK(activate(UnaryKind::Relu, -1.0) == 0.0);
  CHECK(activate(UnaryKind::Sigmoid, 0.0) == 0.5);
  CHECK(binary_op(BinaryKind::Mul, 3.0, -2.0) == -6.0);
  CHECK(binary_op(BinaryKind::Add, 3.0, -2.0) == 1.0);
}
