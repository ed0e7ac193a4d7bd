// Every engine op on CUDA tensors against the same op on the CPU in float64: outputs and the
// gradients of every input, backward from the same random seed gradient. Also the errors of mixed
// devices, and what creating a CUDA tensor does on a machine without a GPU (that test runs
// everywhere). The rest skips, visibly, without a GPU.
//
// Tolerances are |cuda - cpu| <= atol + rtol * |cpu|, written next to each check. The CUDA backend
// computes in float32 (unit roundoff u = 2^-24 = 6e-8) from inputs rounded to float32, so even an
// exact op differs from float64 by about u * |value|; a sum of n terms of size ~1 adds roughly
// u * sqrt(n) * sqrt(n) (partial sums grow as sqrt(n)). Each tolerance is at least ten times the
// error expected that way, and far below what a wrong index, stride or formula gives (~|value|).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "activations.h"
#include "engine/ops.h"
#include "engine/ops/lstm.h"
#include "engine/tensor.h"
#include "gpu.h"

using namespace legato;
using legato::testing::check_close;
using legato::testing::to_gpu;
using legato::testing::Tolerance;
using V = std::vector<Tensor>;

namespace {

using OpFn = std::function<Tensor(const V&)>;

// A float64 CPU leaf taking a gradient, uniform in [low, high).
Tensor leaf(const Shape& shape, uint64_t seed, double low = -1.0, double high = 1.0) {
  return Tensor::uniform(shape, low, high, seed, DType::F64).set_requires_grad(true);
}

Tensor indices(const Shape& shape, const std::vector<int32_t>& values) { return Tensor::from_indices(shape, values); }

// Runs f on the CPU inputs (float64 leaves, or int32 indices) and on their float32 copies on the
// GPU, backward from the same seed gradient (uniform in [-1, 1), float32 on the GPU), and compares
// the outputs (out_tol) and the gradient of every input that takes one (grad_tol).
void check_op(const std::string& what, const OpFn& f, V cpu_inputs, Tolerance out_tol, Tolerance grad_tol,
              uint64_t seed = 12345) {
  CAPTURE(what);
  for (Tensor& t : cpu_inputs)
    if (t.requires_grad()) t.zero_grad();
  V gpu_inputs;
  for (const Tensor& t : cpu_inputs) gpu_inputs.push_back(to_gpu(t));

  const Tensor ref = f(cpu_inputs);
  const Tensor got = f(gpu_inputs);
  REQUIRE(got.device() == Device::CUDA);
  REQUIRE(got.dtype() == DType::F32);
  REQUIRE(got.shape() == ref.shape());
  check_close(what + ": output", got.to_vector(), ref.to_vector(), out_tol);

  const Tensor seed_grad = Tensor::uniform(ref.shape(), -1.0, 1.0, seed, DType::F64);
  ref.backward(seed_grad);
  got.backward(to_gpu(seed_grad));
  for (size_t k = 0; k < cpu_inputs.size(); ++k) {
    if (!cpu_inputs[k].requires_grad()) continue;
    const std::string name = what + ": gradient of input " + std::to_string(k);
    const Tensor g_ref = cpu_inputs[k].grad(), g_got = gpu_inputs[k].grad();
    REQUIRE_MESSAGE(g_ref.defined(), name);
    REQUIRE_MESSAGE(g_got.defined(), name);
    CHECK(g_got.device() == Device::CUDA);
    check_close(name, g_got.to_vector(), g_ref.to_vector(), grad_tol);
  }
}

// Elementwise results: a few roundings of float32 (and device expf/tanhf, within 2 ulp), ~3e-7
// relative at most: atol 1e-6 + rtol 1e-5.
constexpr Tolerance kElementwise{1e-6, 1e-5};
// Sums of up to ~60 terms of size <= 1 (broadcast gradients, products with K <= 45): expected
// error ~ u * n ~ 4e-6 at worst realistic: atol 1e-5 + rtol 1e-4.
constexpr Tolerance kShortSums{1e-5, 1e-4};
// Pure data movement (reshape, slice, concat): the only difference is the float32 rounding of the
// inputs and of the seed gradient, <= 2^-24 relative (6e-8): rtol 1e-7, nothing absolute.
constexpr Tolerance kRounding{0.0, 1e-7};

}  // namespace

TEST_CASE("cuda: add and mul with broadcasting, outputs and gradients") {
  SKIP_WITHOUT_GPU();
  const OpFn add = [](const V& in) { return ops::add(in[0], in[1]); };
  const OpFn mul = [](const V& in) { return ops::mul(in[0], in[1]); };
  // Gradients of broadcast operands sum over the broadcast axes: up to 60 terms ([3, 4, 5] + [1]).
  check_op("add [3,4,5] + [5]", add, {leaf({3, 4, 5}, 1), leaf({5}, 2)}, kElementwise, kShortSums);
  check_op("add [5] + [3,4,5]", add, {leaf({5}, 3), leaf({3, 4, 5}, 4)}, kElementwise, kShortSums);
  check_op("add same shapes [7,33]", add, {leaf({7, 33}, 5), leaf({7, 33}, 6)}, kElementwise, kShortSums);
  check_op("add [3,4,5] + [1]", add, {leaf({3, 4, 5}, 7), leaf({1}, 8)}, kElementwise, kShortSums);
  check_op("add [2,3,1,4] + [3,5,1]", add, {leaf({2, 3, 1, 4}, 9), leaf({3, 5, 1}, 10)}, kElementwise, kShortSums);
  check_op("mul [3,1,5] * [4,1]", mul, {leaf({3, 1, 5}, 11), leaf({4, 1}, 12)}, kElementwise, kShortSums);
  check_op("mul same shapes [7,33]", mul, {leaf({7, 33}, 13), leaf({7, 33}, 14)}, kElementwise, kShortSums);
  check_op("mul [3,4,5] * [1]", mul, {leaf({3, 4, 5}, 15), leaf({1}, 16)}, kElementwise, kShortSums);
  check_op("mul [1] * [3,4,5]", mul, {leaf({1}, 17), leaf({3, 4, 5}, 18)}, kElementwise, kShortSums);
  check_op("mul [2,3,1,4] * [3,5,1]", mul, {leaf({2, 3, 1, 4}, 19), leaf({3, 5, 1}, 20)}, kElementwise, kShortSums);
  // The same tensor as both operands: both contributions reach one gradient (d(x*x) = 2x).
  check_op(
      "mul x * x", [](const V& in) { return ops::mul(in[0], in[0]); }, {leaf({5, 37}, 21)}, kElementwise, kElementwise);
  // Only one operand takes a gradient.
  V one_grad{leaf({4, 6}, 22), Tensor::uniform({6}, -1, 1, 23, DType::F64)};
  check_op("mul [4,6] * constant [6]", mul, one_grad, kElementwise, kElementwise);
}

TEST_CASE("cuda: scale and every activation, outputs and gradients") {
  SKIP_WITHOUT_GPU();
  // Inputs in [-3, 3) so that sigmoid and tanh are neither linear nor saturated; relu's kink at 0
  // is not hit (rounding to float32 keeps every input's sign). All elementwise: kElementwise.
  check_op(
      "scale by -2.5", [](const V& in) { return ops::scale(in[0], -2.5); }, {leaf({37, 129}, 30, -3, 3)}, kElementwise,
      kElementwise);
  uint64_t seed = 31;
  for (const auto& activation : testing::activations()) {
    const auto f = activation.apply;
    check_op(
        activation.name, [f](const V& in) { return f(in[0]); }, {leaf({37, 129}, seed++, -3, 3)}, kElementwise,
        kElementwise);
  }
}

TEST_CASE("cuda: matmul with every transpose, and linear with bias") {
  SKIP_WITHOUT_GPU();
  set_cuda_tf32(false);  // strict FP32 products (the default; TF32 would need ~1e-3)
  // [7, 33] x [33, 45]: each output sums K = 33 products, dA sums N = 45, dB sums M = 7:
  // kShortSums (atol 1e-5 + rtol 1e-4) against an expected error of ~1e-6.
  const int64_t M = 7, K = 33, N = 45;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const Shape a_shape = ta ? Shape{K, M} : Shape{M, K}, b_shape = tb ? Shape{N, K} : Shape{K, N};
      check_op(
          std::string("matmul") + (ta ? " A^T" : " A") + (tb ? " B^T" : " B"),
          [ta, tb](const V& in) { return ops::matmul(in[0], in[1], ta, tb); },
          {leaf(a_shape, 40 + 2 * ta + tb), leaf(b_shape, 50 + 2 * ta + tb)}, kShortSums, kShortSums);
    }
  // x [9, 33], weight [17, 33], bias [17]: the bias gradient sums 9 rows.
  check_op(
      "linear with bias", [](const V& in) { return ops::linear(in[0], in[1], in[2]); },
      {leaf({9, 33}, 60), leaf({17, 33}, 61), leaf({17}, 62)}, kShortSums, kShortSums);
  check_op(
      "linear without bias", [](const V& in) { return ops::linear(in[0], in[1], Tensor()); },
      {leaf({1, 33}, 63), leaf({17, 33}, 64)}, kShortSums, kShortSums);
}

TEST_CASE("cuda: softmax and log_softmax, outputs and gradients") {
  SKIP_WITHOUT_GPU();
  // Rows of 37 logits in [-3, 3); 300 columns for rows longer than the 256 threads of a block.
  // softmax: p ~ 1/37 with relative error ~ 5e-7 (rounded inputs, expf, a 37-term sum); its
  // gradient y * (g - <g, y>) is O(0.03) with absolute error ~ 1e-8: kElementwise. log_softmax is
  // O(4) with absolute error ~ 1e-6 (rtol covers it); its gradient g - exp(y) * sum(g):
  // kElementwise (sum(g) ~ 4 with error ~ 1e-6, times exp(y) ~ 0.03).
  for (int64_t cols : {37, 300}) {
    CAPTURE(cols);
    check_op(
        "softmax", [](const V& in) { return ops::softmax(in[0]); }, {leaf({5, cols}, 70, -3, 3)}, kElementwise,
        kElementwise);
    check_op(
        "log_softmax", [](const V& in) { return ops::log_softmax(in[0]); }, {leaf({5, cols}, 71, -3, 3)}, kElementwise,
        kElementwise);
  }
  // Softmax over the last axis of a 3-D tensor (rows = the product of the others).
  check_op(
      "softmax [2,3,37]", [](const V& in) { return ops::softmax(in[0]); }, {leaf({2, 3, 37}, 72, -3, 3)}, kElementwise,
      kElementwise);
}

TEST_CASE("cuda: cross-entropy on probabilities (Keras) and on logits, losses and gradients") {
  SKIP_WITHOUT_GPU();
  const int64_t rows = 6, cols = 37;
  const std::vector<int32_t> t = {3, 36, 0, 17, 5, 9};
  // cross_entropy_probs fed softmax(logits), as the seed's recipe does. Row 4's target logit is
  // -30 (p_t ~ 3e-15: clipped to 1e-7, no gradient) and row 5's +30 (p_t rounds to 1 in float32
  // and is within 1e-12 of it in float64: clipped to 1 - 1e-7, no gradient) on both devices.
  Tensor logits = Tensor::uniform({rows, cols}, -3, 3, 80, DType::F64);
  logits.data<double>()[4 * cols + t[4]] = -30;
  logits.data<double>()[5 * cols + t[5]] = 30;
  logits.set_requires_grad(true);
  // The loss is a mean over 6 rows of terms ~ 3.6 (16.1 for the clipped row): relative error ~ 1e-6;
  // atol 1e-5 + rtol 1e-5. The gradient reaches the logits through 1/p_t (up to ~500) and the
  // softmax backward, where those terms cancel back to O(0.1): absolute error ~ 1e-7, atol 1e-6
  // + rtol 1e-4.
  check_op(
      "cross_entropy_probs(softmax(z))",
      [](const V& in) { return ops::cross_entropy_probs(ops::softmax(in[0]), in[1]); }, {logits, indices({rows}, t)},
      Tolerance{1e-5, 1e-5}, Tolerance{1e-6, 1e-4});
  // Probabilities that are not normalised (the loss renormalises each row).
  check_op(
      "cross_entropy_probs(unnormalised)", [](const V& in) { return ops::cross_entropy_probs(in[0], in[1]); },
      {leaf({rows, cols}, 81, 0.1, 1.0), indices({rows}, t)}, Tolerance{1e-5, 1e-5}, Tolerance{1e-6, 1e-4});
  // The fused loss on logits: loss ~ 4 (row 4 ~ 33), gradient (softmax - onehot) * g / rows.
  check_op(
      "cross_entropy_logits", [](const V& in) { return ops::cross_entropy_logits(in[0], in[1]); },
      {logits, indices({rows}, t)}, Tolerance{1e-5, 1e-5}, kElementwise);
  check_op(
      "cross_entropy_logits, 300 classes", [](const V& in) { return ops::cross_entropy_logits(in[0], in[1]); },
      {leaf({3, 300}, 82, -3, 3), indices({3}, {299, 0, 256})}, Tolerance{1e-5, 1e-5}, kElementwise);
}

TEST_CASE("cuda: dropout draws the CPU's float32 mask bit for bit") {
  SKIP_WITHOUT_GPU();
  // 37 * 129 elements (not a multiple of 4) at an offset that is not one either: the Philox lanes
  // straddle the ends. Both devices compute x * m with m = 1/(1-p) or 0 in float32: exact.
  const Tensor x = Tensor::uniform({37, 129}, -2, 2, 90, DType::F32).set_requires_grad(true);
  const Tensor seed_grad = Tensor::uniform({37, 129}, -1, 1, 91, DType::F32);
  for (uint64_t offset : {uint64_t{0}, uint64_t{5}, uint64_t{1} << 33}) {
    CAPTURE(offset);
    Tensor cpu_x = x.clone().set_requires_grad(true), gpu_x = to_gpu(x);
    const Tensor ref = ops::dropout(cpu_x, 0.3, true, 77, offset);
    const Tensor got = ops::dropout(gpu_x, 0.3, true, 77, offset);
    REQUIRE(got.device() == Device::CUDA);
    const std::vector<double> y = got.to_vector();
    check_close("dropout output", y, ref.to_vector(), Tolerance{0, 0});
    int64_t zeros = 0;
    for (double v : y) zeros += v == 0.0;
    const double dropped = static_cast<double>(zeros) / static_cast<double>(y.size());
    CHECK(dropped > 0.25);  // p = 0.3 over 4773 elements: 0.30 +- 0.007
    CHECK(dropped < 0.35);
    ref.backward(seed_grad);
    got.backward(to_gpu(seed_grad));
    check_close("dropout gradient", gpu_x.grad().to_vector(), cpu_x.grad().to_vector(), Tolerance{0, 0});
  }
  // Evaluation and p = 0 are the identity on the GPU too (the same tensor back).
  const Tensor gpu_x = to_gpu(x);
  CHECK(ops::dropout(gpu_x, 0.3, false, 77, 0).impl() == gpu_x.impl());
  CHECK(ops::dropout(gpu_x, 0.0, true, 77, 0).impl() == gpu_x.impl());
}

TEST_CASE("cuda: embedding, with repeated indices whose gradients add up") {
  SKIP_WITHOUT_GPU();
  // Row 3 is looked up four times and row 10 twice: their gradients are sums of 4 and 2 rows
  // (float32 atomics in any order): kElementwise. The lookup itself is a copy.
  const std::vector<int32_t> ids = {3, 10, 3, 0, 7, 3, 10, 3};
  check_op(
      "embedding [2,4] of [11,5]", [](const V& in) { return ops::embedding(in[0], in[1]); },
      {leaf({11, 5}, 100), indices({2, 4}, ids)}, kRounding, kElementwise);
  check_op(
      "embedding [8] of [11,37]", [](const V& in) { return ops::embedding(in[0], in[1]); },
      {leaf({11, 37}, 101), indices({8}, ids)}, kRounding, kElementwise);
}

TEST_CASE("cuda: reshape, slice along every dimension, and concat, outputs and gradients") {
  SKIP_WITHOUT_GPU();
  // Pure copies: kRounding.
  check_op(
      "reshape [3,4,5] -> [5,12]",
      [](const V& in) {
        return ops::reshape(in[0], {5, 12});
      },
      {leaf({3, 4, 5}, 110)}, kRounding, kRounding);
  for (int dim = 0; dim < 3; ++dim) {
    CAPTURE(dim);
    check_op(
        "slice [1, 3)", [dim](const V& in) { return ops::slice(in[0], dim, 1, 3); }, {leaf({4, 5, 6}, 111)}, kRounding,
        kRounding);
    check_op(
        "slice, whole dimension", [dim](const V& in) { return ops::slice(in[0], dim, 0, in[0].dim(dim)); },
        {leaf({4, 5, 6}, 112)}, kRounding, kRounding);
    Shape a{4, 5, 6}, b{4, 5, 6}, c{4, 5, 6};
    a[dim] = 2;
    b[dim] = 3;
    c[dim] = 1;
    check_op(
        "concat of three parts", [dim](const V& in) { return ops::concat(in, dim); },
        {leaf(a, 113), leaf(b, 114), leaf(c, 115)}, kRounding, kRounding);
    // Overlapping slices concatenated: the overlap's gradient adds two rounded seeds (each <= 1):
    // the sum differs from float64 by up to ~3 * 6e-8 in absolute terms: atol 1e-6.
    check_op(
        "concat of overlapping slices",
        [dim](const V& in) {
          return ops::concat({ops::slice(in[0], dim, 0, 3), ops::slice(in[0], dim, 1, 4)}, dim);
        },
        {leaf({4, 5, 6}, 116)}, kRounding, Tolerance{1e-6, 0});
  }
  // A part that takes no gradient (a constant) beside one that does.
  check_op(
      "concat with a constant part", [](const V& in) { return ops::concat(in, 1); },
      {leaf({3, 2}, 117), Tensor::uniform({3, 4}, -1, 1, 118, DType::F64)}, kRounding, kRounding);
}

TEST_CASE("cuda: sum and mean, outputs and gradients") {
  SKIP_WITHOUT_GPU();
  // [7, 33]: 231 terms in [-1, 1), sum ~ 9, rounding error ~ u * sqrt(n * depth) ~ 2e-6: atol 2e-5
  // + rtol 1e-5. [37, 129]: 4773 terms (more than the 1024 threads), error ~ 1e-5: atol 2e-4.
  // Means divide both by n. The gradients are factor * g in every element: a few roundings,
  // rtol 1e-6.
  for (const Shape& shape : {Shape{7, 33}, Shape{37, 129}}) {
    CAPTURE(to_string(shape));
    const double n = static_cast<double>(numel_of(shape)), atol = n > 1000 ? 2e-4 : 2e-5;
    check_op(
        "sum", [](const V& in) { return ops::sum(in[0]); }, {leaf(shape, 120)}, Tolerance{atol, 1e-5},
        Tolerance{0, 1e-6});
    check_op(
        "mean", [](const V& in) { return ops::mean(in[0]); }, {leaf(shape, 121)}, Tolerance{atol / n, 1e-5},
        Tolerance{0, 1e-6});
  }
}

TEST_CASE("cuda: empty tensors (a batch of 0, a width of 0) are nothing to do, as on the CPU") {
  SKIP_WITHOUT_GPU();
  // No element to compare: what is checked is that nothing fails (no grid of 0 blocks, no
  // leading dimension of 0 handed to cuBLAS) and that the shapes and gradients come out as on
  // the CPU; k = 0 products give zeros.
  const Tolerance exact{0.0, 0.0};
  check_op(
      "add [0,5] + [5]", [](const V& in) { return ops::add(in[0], in[1]); }, {leaf({0, 5}, 1), leaf({5}, 2)}, exact,
      exact);
  check_op(
      "mul [4,0] * [4,1]", [](const V& in) { return ops::mul(in[0], in[1]); }, {leaf({4, 0}, 3), leaf({4, 1}, 4)},
      exact, exact);
  check_op(
      "sigmoid [0,7]", [](const V& in) { return ops::sigmoid(in[0]); }, {leaf({0, 7}, 5)}, exact, exact);
  check_op(
      "matmul [0,5] x [5,3]", [](const V& in) { return ops::matmul(in[0], in[1]); }, {leaf({0, 5}, 6), leaf({5, 3}, 7)},
      exact, exact);
  check_op(
      "matmul [4,0] x [0,3] (k = 0: zeros)", [](const V& in) { return ops::matmul(in[0], in[1]); },
      {leaf({4, 0}, 8), leaf({0, 3}, 9)}, exact, exact);
  check_op(
      "linear [0,6] with bias", [](const V& in) { return ops::linear(in[0], in[1], in[2]); },
      {leaf({0, 6}, 10), leaf({3, 6}, 11), leaf({3}, 12)}, exact, exact);
  check_op(
      "softmax [0,6]", [](const V& in) { return ops::softmax(in[0]); }, {leaf({0, 6}, 13)}, exact, exact);
  check_op(
      "log_softmax [0,6]", [](const V& in) { return ops::log_softmax(in[0]); }, {leaf({0, 6}, 14)}, exact, exact);
  check_op(
      "dropout [0,6]", [](const V& in) { return ops::dropout(in[0], 0.5, true, 7, 0); }, {leaf({0, 6}, 15)}, exact,
      exact);
  check_op(
      "sum [0,3]", [](const V& in) { return ops::sum(in[0]); }, {leaf({0, 3}, 16)}, exact, exact);
  check_op(
      "concat [0,3] and [2,3]",
      [](const V& in) {
        return ops::concat({in[0], in[1]}, 0);
      },
      {leaf({0, 3}, 17), leaf({2, 3}, 18)}, kRounding, kRounding);
  // The LSTM with a batch of 0: outputs [T, 0, H], every gradient of the weights zero.
  ops::LstmWeights w{leaf({4 * 3, 2}, 19), leaf({4 * 3, 3}, 20), leaf({4 * 3}, 21), leaf({4 * 3}, 22)};
  check_op(
      "lstm with a batch of 0",
      [](const V& in) {
        return ops::lstm(in[0], Tensor(), Tensor(), {in[1], in[2], in[3], in[4]}).y;
      },
      {leaf({5, 0, 2}, 23), w.w_ih, w.w_hh, w.b_ih, w.b_hh}, exact, exact);
}

TEST_CASE("cuda: mixing CPU and CUDA tensors throws naming the op") {
  SKIP_WITHOUT_GPU();
  const Tensor cpu = Tensor::uniform({3, 4}, -1, 1, 130), gpu = cpu.to(Device::CUDA);
  const Tensor cpu_sq = Tensor::uniform({4, 4}, -1, 1, 131), gpu_sq = cpu_sq.to(Device::CUDA);
  CHECK_THROWS_WITH_AS(ops::add(cpu, gpu), doctest::Contains("add: b is float32 [3, 4] on cuda"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::add(gpu, cpu), doctest::Contains("add: b is float32 [3, 4]"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::mul(gpu, cpu), doctest::Contains("mul:"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::matmul(cpu, gpu_sq), doctest::Contains("matmul: b is float32 [4, 4] on cuda"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::matmul(gpu, cpu_sq), doctest::Contains("matmul: b is float32 [4, 4]"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::concat({gpu, cpu}, 0), doctest::Contains("concat:"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::embedding(gpu, Tensor::from_indices({1}, {0})), doctest::Contains("embedding:"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::cross_entropy_logits(gpu, Tensor::from_indices({3}, {0, 1, 2})),
                       doctest::Contains("cross_entropy_logits: targets"), std::invalid_argument);
  // The LSTM: x on one device, a weight or the state on the other.
  const int64_t H = 4;
  const ops::LstmWeights w_cpu{Tensor::uniform({4 * H, 3}, -1, 1, 132), Tensor::uniform({4 * H, H}, -1, 1, 133),
                               Tensor::zeros({4 * H}), Tensor::zeros({4 * H})};
  const ops::LstmWeights w_gpu{w_cpu.w_ih.to(Device::CUDA), w_cpu.w_hh.to(Device::CUDA), w_cpu.b_ih.to(Device::CUDA),
                               w_cpu.b_hh.to(Device::CUDA)};
  ops::LstmWeights w_mixed = w_gpu;
  w_mixed.w_hh = w_cpu.w_hh;
  const Tensor x_cpu = Tensor::uniform({2, 1, 3}, -1, 1, 134), x_gpu = x_cpu.to(Device::CUDA);
  const Tensor h_cpu = Tensor::zeros({1, H});
  CHECK_THROWS_WITH_AS(ops::lstm(x_gpu, Tensor(), Tensor(), w_cpu), doctest::Contains("lstm: x is"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::lstm(x_cpu, Tensor(), Tensor(), w_gpu), doctest::Contains("lstm: x is"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::lstm(x_gpu, Tensor(), Tensor(), w_mixed), doctest::Contains("W_hh"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::lstm(x_gpu, h_cpu, Tensor(), w_gpu), doctest::Contains("lstm: x is"),
                       std::invalid_argument);
  // float64 on the GPU is storage only: the ops refuse it by name.
  const Tensor gpu64 = Tensor::uniform({3, 4}, -1, 1, 135, DType::F64).to(Device::CUDA);
  CHECK_THROWS_WITH_AS(ops::add(gpu64, gpu64), doctest::Contains("add: a is float64 [3, 4] on cuda"),
                       std::invalid_argument);
}

// Runs everywhere: CI has no GPU, and this is what a user without one meets.
TEST_CASE("cuda: a CUDA tensor without a GPU is a clear error; with one, values round-trip exactly") {
  if (cuda_device_count() == 0) {
    std::string message;
    try {
      Tensor::empty({4}, DType::F32, Device::CUDA);
    } catch (const std::exception& e) {
      message = e.what();
    }
    INFO("message: " << message);
    REQUIRE_FALSE(message.empty());  // it threw
    // Without the backend the message says so; with it, that there is no GPU (not the runtime's
    // "driver version is insufficient", which is what it reports where no driver is installed).
    if (!cuda_built()) {
      CHECK(message.find("no CUDA backend") != std::string::npos);
    } else {
      CHECK(message.find("no CUDA GPU found") != std::string::npos);
    }
    // The failure leaves nothing behind: asking again fails the same way, and the CPU works.
    CHECK_THROWS_AS(Tensor::zeros({4}, DType::F32, Device::CUDA), std::exception);
    CHECK(Tensor::full({2}, 3.0).to_vector() == std::vector<double>{3.0, 3.0});
    return;
  }
  // Values that a conversion would disturb: signed zero, a subnormal, huge and tiny magnitudes, NaN.
  const std::vector<double> values = {0.0, -0.0, 1.0, -2.5, 1e-40, 3.4e38, -1.17549435e-38, 0.1, std::nan("")};
  for (DType dtype : {DType::F32, DType::F64}) {
    CAPTURE(to_string(dtype));
    const Tensor cpu = Tensor::from_values({3, 3}, values, dtype);
    const Tensor gpu = cpu.to(Device::CUDA);
    CHECK(gpu.device() == Device::CUDA);
    CHECK(gpu.shape() == cpu.shape());
    const Tensor back = gpu.to(Device::CPU);
    REQUIRE(back.dtype() == dtype);
    CHECK(std::memcmp(back.raw_data(), cpu.raw_data(), static_cast<size_t>(cpu.numel()) * dtype_size(dtype)) == 0);
    CHECK(gpu.at(3) == -2.5);
    CHECK(std::memcmp(gpu.clone().to(Device::CPU).raw_data(), cpu.raw_data(), 9 * dtype_size(dtype)) == 0);
  }
  const Tensor ids = Tensor::from_indices({4}, {0, -7, 2147483647, 42}).to(Device::CUDA);
  CHECK(ids.to_vector() == std::vector<double>{0, -7, 2147483647, 42});
  CHECK(Tensor::zeros({1000}, DType::F32, Device::CUDA).to_vector() == std::vector<double>(1000, 0.0));
  CHECK(Tensor::full({5}, -1.5, DType::F32, Device::CUDA).to_vector() == std::vector<double>(5, -1.5));
  CHECK(Tensor::full({5}, 0.1, DType::F64, Device::CUDA).to_vector() == std::vector<double>(5, 0.1));
  CHECK(Tensor::full({}, 7.0, DType::F32, Device::CUDA).item() == 7.0);
  // A conversion on the way in (float64 on the host into float32 on the GPU).
  Tensor dst = Tensor::zeros({3}, DType::F32, Device::CUDA);
  dst.copy_from(Tensor::from_values({3}, {0.1, 2.0, -3.0}, DType::F64));
  CHECK(dst.to_vector() == std::vector<double>{static_cast<float>(0.1), 2.0, -3.0});
  // A view (one row) copied back reads the right elements.
  const Tensor rows = Tensor::from_values({3, 2}, {1, 2, 3, 4, 5, 6}).to(Device::CUDA);
  CHECK(rows.rows(1, 2).to_vector() == std::vector<double>{3, 4, 5, 6});
}
