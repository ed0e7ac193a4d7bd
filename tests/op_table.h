#pragma once
// The op table: one row per case of every op in engine/ops.h (the LSTM's ops have their own tests,
// test_lstm.cpp and test_cuda_lstm.cpp). Three checks loop over it: the central-difference gradient
// check in float64 and float32 against float64 (test_ops.cpp, on the small inputs), and the CUDA
// backend against the CPU's float64 (test_cuda_ops.cpp, on the wide inputs, in legato_tests and on
// the emulator). A new op is a row here, and every one of those checks covers it (docs/ops.md).
//
// GPU tolerances are |cuda - cpu| <= atol + rtol * |cpu|. The CUDA backend computes in float32
// (unit roundoff u = 2^-24 = 6e-8) from inputs rounded to float32, so even an exact op differs from
// float64 by about u * |value|; a sum of n terms of size ~1 adds roughly u * n. Each tolerance is
// at least ten times the error expected that way, and far below what a wrong index, stride or
// formula gives (~|value|).
#include <functional>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "gpu.h"

namespace legato::testing {

using OpInputs = std::vector<Tensor>;

struct OpCase {
  std::string name;  // the op's name in engine/ops.h (and cuda_ops) first, then what the row adds
  std::function<Tensor(const OpInputs&)> apply;  // the inputs -> the op's output
  // float64 leaves taking a gradient (int32 targets and indices, constants without one). Small
  // (wide = false) for the central differences, whose rounding grows with the size of the
  // projected loss; wide for the GPU: rows longer than a block's 256 threads, sums over more than
  // its 1024.
  std::function<OpInputs(bool wide)> inputs;
  Tolerance out, grad;  // the GPU's output and gradients against the CPU's float64
};

// Elementwise results: a few roundings of float32 (and device expf/tanhf, within 2 ulp), ~3e-7
// relative at most: atol 1e-6 + rtol 1e-5.
constexpr Tolerance kElementwise{1e-6, 1e-5};
// Sums of up to ~60 terms of size <= 1 (broadcast gradients, products with K <= 45): expected
// error ~ u * n ~ 4e-6 at worst realistic: atol 1e-5 + rtol 1e-4.
constexpr Tolerance kShortSums{1e-5, 1e-4};
// Pure data movement (reshape, slice, concat): the only difference is the float32 rounding of the
// inputs and of the seed gradient, <= 2^-24 relative (6e-8): rtol 1e-7, nothing absolute.
constexpr Tolerance kRounding{0.0, 1e-7};
// A loss: a mean over a few rows of terms ~ 4 (16 for a clipped row), relative error ~ 1e-6.
constexpr Tolerance kLoss{1e-5, 1e-5};

// A float64 CPU leaf taking a gradient, uniform in [low, high).
inline Tensor op_leaf(const Shape& shape, uint64_t seed, double low = -1.0, double high = 1.0) {
  return Tensor::uniform(shape, low, high, seed, DType::F64).set_requires_grad(true);
}
inline Tensor op_indices(const Shape& shape, const std::vector<int32_t>& values) {
  return Tensor::from_indices(shape, values);
}

// Inputs in [-3, 3) kept at least 0.1 from 0, where relu is not differentiable (rounding to
// float32 keeps every sign), so that sigmoid and tanh are neither linear nor saturated.
inline Tensor away_from_zero(const Shape& shape, uint64_t seed) {
  Tensor x = Tensor::uniform(shape, -3, 3, seed, DType::F64);
  for (int64_t k = 0; k < x.numel(); ++k) x.data<double>()[k] += x.data<double>()[k] > 0 ? 0.1 : -0.1;
  return x.set_requires_grad(true);
}

// The rows, a group of ops at a time, in the order of engine/ops.h.
inline std::vector<OpCase> elementwise_rows() {
  using V = OpInputs;
  const auto add = [](const V& in) { return ops::add(in[0], in[1]); };
  const auto mul = [](const V& in) { return ops::mul(in[0], in[1]); };
  // Gradients of broadcast operands sum over the broadcast axes: up to 60 terms ([3, 4, 5] + [1]).
  std::vector<OpCase> rows = {
      {"add [3,4,5] + [5]", add,
       [](bool) {
         return V{op_leaf({3, 4, 5}, 1), op_leaf({5}, 2)};
       },
       kElementwise, kShortSums},
      {"add [5] + [3,4,5]", add,
       [](bool) {
         return V{op_leaf({5}, 3), op_leaf({3, 4, 5}, 4)};
       },
       kElementwise, kShortSums},
      {"add same shapes", add,
       [](bool wide) {
         const Shape s = wide ? Shape{7, 33} : Shape{3, 4};
         return V{op_leaf(s, 5), op_leaf(s, 6)};
       },
       kElementwise, kShortSums},
      {"add [3,4,5] + [1]", add,
       [](bool) {
         return V{op_leaf({3, 4, 5}, 7), op_leaf({1}, 8)};
       },
       kElementwise, kShortSums},
      {"add [2,3,1,4] + [3,5,1]", add,
       [](bool) {
         return V{op_leaf({2, 3, 1, 4}, 9), op_leaf({3, 5, 1}, 10)};
       },
       kElementwise, kShortSums},
      {"mul [3,1,5] * [4,1]", mul,
       [](bool) {
         return V{op_leaf({3, 1, 5}, 11), op_leaf({4, 1}, 12)};
       },
       kElementwise, kShortSums},
      {"mul same shapes", mul,
       [](bool wide) {
         const Shape s = wide ? Shape{7, 33} : Shape{3, 4};
         return V{op_leaf(s, 13), op_leaf(s, 14)};
       },
       kElementwise, kShortSums},
      {"mul [1] * [3,4,5]", mul,
       [](bool) {
         return V{op_leaf({1}, 17), op_leaf({3, 4, 5}, 18)};
       },
       kElementwise, kShortSums},
      {"mul [2,3,1,4] * [3,5,1]", mul,
       [](bool) {
         return V{op_leaf({2, 3, 1, 4}, 19), op_leaf({3, 5, 1}, 20)};
       },
       kElementwise, kShortSums},
      // The same tensor as both operands: both contributions reach one gradient (d(x*x) = 2x).
      {"mul x * x", [](const V& in) { return ops::mul(in[0], in[0]); },
       [](bool wide) {
         return V{op_leaf({5, wide ? 37 : 3}, 21)};
       },
       kElementwise, kElementwise},
      // Only one operand takes a gradient.
      {"mul [4,6] * constant [6]", mul,
       [](bool) {
         return V{op_leaf({4, 6}, 22), Tensor::uniform({6}, -1, 1, 23, DType::F64)};
       },
       kElementwise, kElementwise},
      {"scale by -2.5", [](const V& in) { return ops::scale(in[0], -2.5); },
       [](bool wide) {
         return V{op_leaf(wide ? Shape{37, 129} : Shape{4, 3}, 30, -3, 3)};
       },
       kElementwise, kElementwise},
  };
  // The activations (kernels/elementwise.h's UnaryKind): elementwise, kElementwise.
  const std::pair<const char*, Tensor (*)(const Tensor&)> activations[] = {
      {"sigmoid", ops::sigmoid}, {"tanh", ops::tanh}, {"relu", ops::relu}};
  uint64_t seed = 31;
  for (const auto& [name, f] : activations)
    rows.push_back({name, [f](const V& in) { return f(in[0]); },
                    [s = seed++](bool wide) {
                      return V{away_from_zero(wide ? Shape{37, 129} : Shape{4, 3}, s)};
                    },
                    kElementwise, kElementwise});
  return rows;
}

inline std::vector<OpCase> product_rows() {
  using V = OpInputs;
  std::vector<OpCase> rows;
  // Wide: [7, 33] x [33, 45], each output sums K = 33 products, dA sums N = 45, dB sums M = 7:
  // kShortSums against an expected error of ~1e-6.
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      rows.push_back({std::string("matmul") + (ta ? " A^T" : " A") + (tb ? " B^T" : " B"),
                      [ta, tb](const V& in) { return ops::matmul(in[0], in[1], ta, tb); },
                      [ta, tb](bool wide) {
                        const int64_t M = wide ? 7 : 3, K = wide ? 33 : 4, N = wide ? 45 : 5;
                        return V{op_leaf(ta ? Shape{K, M} : Shape{M, K}, 40 + 2 * ta + tb),
                                 op_leaf(tb ? Shape{N, K} : Shape{K, N}, 50 + 2 * ta + tb)};
                      },
                      kShortSums, kShortSums});
  // x [9, 33], weight [17, 33], bias [17]: the bias gradient sums 9 rows.
  rows.push_back({"linear with bias", [](const V& in) { return ops::linear(in[0], in[1], in[2]); },
                  [](bool wide) {
                    const int64_t n = wide ? 9 : 3, in = wide ? 33 : 4, out = wide ? 17 : 5;
                    return V{op_leaf({n, in}, 60), op_leaf({out, in}, 61), op_leaf({out}, 62)};
                  },
                  kShortSums, kShortSums});
  rows.push_back({"linear without bias", [](const V& in) { return ops::linear(in[0], in[1], Tensor()); },
                  [](bool wide) {
                    return V{op_leaf({1, wide ? 33 : 4}, 63), op_leaf({wide ? 17 : 5, wide ? 33 : 4}, 64)};
                  },
                  kShortSums, kShortSums});
  return rows;
}

// softmax: p ~ 1/37 with relative error ~ 5e-7 (rounded inputs, expf, a 37-term sum); its gradient
// y * (g - <g, y>) is O(0.03) with absolute error ~ 1e-8: kElementwise. log_softmax is O(4) with
// absolute error ~ 1e-6 (rtol covers it); its gradient g - exp(y) * sum(g): kElementwise. 300
// columns: rows longer than the 256 threads of a block.
inline std::vector<OpCase> softmax_rows() {
  using V = OpInputs;
  const auto softmax = [](const V& in) { return ops::softmax(in[0]); };
  const auto log_softmax = [](const V& in) { return ops::log_softmax(in[0]); };
  return {
      {"softmax [5,37]", softmax,
       [](bool wide) {
         return V{op_leaf({wide ? 5 : 3, wide ? 37 : 5}, 70, -3, 3)};
       },
       kElementwise, kElementwise},
      {"softmax [5,300]", softmax,
       [](bool) {
         return V{op_leaf({5, 300}, 73, -3, 3)};
       },
       kElementwise, kElementwise},
      {"softmax [2,3,37] (rows: the product of the other dimensions)", softmax,
       [](bool) {
         return V{op_leaf({2, 3, 37}, 72, -3, 3)};
       },
       kElementwise, kElementwise},
      {"log_softmax [5,37]", log_softmax,
       [](bool wide) {
         return V{op_leaf(wide ? Shape{5, 37} : Shape{2, 3, 5}, 71, -3, 3)};
       },
       kElementwise, kElementwise},
      {"log_softmax [5,300]", log_softmax,
       [](bool wide) {
         return V{op_leaf(wide ? Shape{5, 300} : Shape{2, 9}, 74, -3, 3)};
       },
       kElementwise, kElementwise},
  };
}

// Wide: 6 rows of 37 classes; row 4's target logit is -30 (p_t ~ 3e-15: clipped to 1e-7, no
// gradient) and row 5's +30 (p_t rounds to 1 in float32 and is within 1e-12 of it in float64:
// clipped to 1 - 1e-7, no gradient) on both devices.
inline OpInputs logits_and_targets(bool wide) {
  if (!wide) return {op_leaf({3, 4}, 25, -2, 2), op_indices({3}, {0, 3, 2})};
  const std::vector<int32_t> t = {3, 36, 0, 17, 5, 9};
  const int64_t cols = 37;
  Tensor logits = Tensor::uniform({6, cols}, -3, 3, 80, DType::F64);
  logits.data<double>()[4 * cols + t[4]] = -30;
  logits.data<double>()[5 * cols + t[5]] = 30;
  return {logits.set_requires_grad(true), op_indices({6}, t)};
}

// The gradient of cross_entropy_probs reaches the logits through 1/p_t (up to ~500) and the
// softmax backward, where those terms cancel back to O(0.1): absolute error ~ 1e-7, atol 1e-6 +
// rtol 1e-4. cross_entropy_logits: gradient (softmax - onehot) * g / rows, kElementwise.
inline std::vector<OpCase> loss_rows() {
  using V = OpInputs;
  constexpr Tolerance through_one_over_p{1e-6, 1e-4};
  const auto logits = [](const V& in) { return ops::cross_entropy_logits(in[0], in[1]); };
  return {
      {"cross_entropy_probs of softmax(z), as the seed's recipe",
       [](const V& in) { return ops::cross_entropy_probs(ops::softmax(in[0]), in[1]); }, logits_and_targets, kLoss,
       through_one_over_p},
      {"cross_entropy_probs of unnormalised probabilities (each row renormalised)",
       [](const V& in) { return ops::cross_entropy_probs(in[0], in[1]); },
       [](bool wide) {
         return wide ? V{op_leaf({6, 37}, 81, 0.1, 1.0), op_indices({6}, {3, 36, 0, 17, 5, 9})}
                     : V{op_leaf({3, 4}, 24, 0.1, 1.0), op_indices({3}, {0, 3, 2})};
       },
       kLoss, through_one_over_p},
      {"cross_entropy_logits", logits, logits_and_targets, kLoss, kElementwise},
      {"cross_entropy_logits, 300 classes", logits,
       [](bool) {
         return V{op_leaf({3, 300}, 82, -3, 3), op_indices({3}, {299, 0, 256})};
       },
       kLoss, kElementwise},
  };
}

// Dropout: the mask is Philox's on both devices (its comparison in float32), so only the scale's
// rounding differs. Embedding: row 3 is looked up four times and row 10 twice, whose gradients
// are sums of 4 and 2 rows (float32 atomics in any order): kElementwise; the lookup is a copy.
inline std::vector<OpCase> dropout_and_embedding_rows() {
  using V = OpInputs;
  const auto embedding = [](const V& in) { return ops::embedding(in[0], in[1]); };
  const std::vector<int32_t> ids = {3, 10, 3, 0, 7, 3, 10, 3};
  return {
      {"dropout p = 0.3, a fixed mask", [](const V& in) { return ops::dropout(in[0], 0.3, true, 42, 7); },
       [](bool wide) {
         return V{op_leaf(wide ? Shape{37, 129} : Shape{6, 5}, 26)};
       },
       kElementwise, kElementwise},
      {"embedding [2,4] of [11,5]", embedding,
       [ids](bool) {
         return V{op_leaf({11, 5}, 100), op_indices({2, 4}, ids)};
       },
       kRounding, kElementwise},
      {"embedding [8] of [11,37]", embedding,
       [ids](bool) {
         return V{op_leaf({11, 37}, 101), op_indices({8}, ids)};
       },
       kRounding, kElementwise},
  };
}

// Pure copies: kRounding; where two gradients meet (a part used twice, overlapping slices) they
// add two rounded seeds (each <= 1), which differ from float64 by up to ~3 * 6e-8: atol 1e-6.
inline std::vector<OpCase> shape_rows() {
  using V = OpInputs;
  constexpr Tolerance two_seeds{1e-6, 0};
  std::vector<OpCase> rows = {{"reshape [3,4,5] -> [5,12]",
                               [](const V& in) {
                                 return ops::reshape(in[0], {5, 12});
                               },
                               [](bool) {
                                 return V{op_leaf({3, 4, 5}, 110)};
                               },
                               kRounding, kRounding}};
  for (int dim = 0; dim < 3; ++dim) {
    const std::string along = " along dimension " + std::to_string(dim);
    Shape a{4, 5, 6}, b{4, 5, 6}, c{4, 5, 6};
    a[dim] = 2, b[dim] = 3, c[dim] = 1;
    rows.push_back({"slice [1, 3)" + along, [dim](const V& in) { return ops::slice(in[0], dim, 1, 3); },
                    [](bool) {
                      return V{op_leaf({4, 5, 6}, 111)};
                    },
                    kRounding, kRounding});
    rows.push_back({"slice, the whole dimension" + along,
                    [dim](const V& in) { return ops::slice(in[0], dim, 0, in[0].dim(dim)); },
                    [](bool) {
                      return V{op_leaf({4, 5, 6}, 112)};
                    },
                    kRounding, kRounding});
    rows.push_back({"concat of three parts" + along, [dim](const V& in) { return ops::concat(in, dim); },
                    [a, b, c](bool) {
                      return V{op_leaf(a, 113), op_leaf(b, 114), op_leaf(c, 115)};
                    },
                    kRounding, kRounding});
    rows.push_back({"concat of a part used twice" + along,
                    [dim](const V& in) {
                      return ops::concat({in[0], in[1], in[0]}, dim);
                    },
                    [](bool) {
                      return V{op_leaf({2, 3, 4}, 30), op_leaf({2, 3, 4}, 31)};
                    },
                    kRounding, two_seeds});
    rows.push_back({"concat of overlapping slices" + along,
                    [dim](const V& in) {
                      return ops::concat({ops::slice(in[0], dim, 0, 3), ops::slice(in[0], dim, 1, 4)}, dim);
                    },
                    [](bool) {
                      return V{op_leaf({4, 5, 6}, 116)};
                    },
                    kRounding, two_seeds});
  }
  // A part that takes no gradient (a constant) beside one that does.
  rows.push_back({"concat with a constant part", [](const V& in) { return ops::concat(in, 1); },
                  [](bool) {
                    return V{op_leaf({3, 2}, 117), Tensor::uniform({3, 4}, -1, 1, 118, DType::F64)};
                  },
                  kRounding, kRounding});
  return rows;
}

// [7, 33]: 231 terms in [-1, 1), sum ~ 9, rounding error ~ u * sqrt(n * depth) ~ 2e-6: atol 2e-5
// + rtol 1e-5. [37, 129]: 4773 terms (more than the 1024 threads), error ~ 1e-5: atol 2e-4. Means
// divide both by n. The gradients are factor * g in every element: a few roundings, rtol 1e-6.
inline std::vector<OpCase> reduction_rows() {
  using V = OpInputs;
  std::vector<OpCase> rows;
  for (const Shape& shape : {Shape{7, 33}, Shape{37, 129}}) {
    const double n = static_cast<double>(numel_of(shape)), atol = n > 1000 ? 2e-4 : 2e-5;
    const auto input = [shape](uint64_t seed) {
      return [shape, seed](bool wide) { return V{op_leaf(wide ? shape : Shape{3, 4}, seed)}; };
    };
    rows.push_back({"sum " + to_string(shape), [](const V& in) { return ops::sum(in[0]); }, input(120),
                    Tolerance{atol, 1e-5}, Tolerance{0, 1e-6}});
    rows.push_back({"mean " + to_string(shape), [](const V& in) { return ops::mean(in[0]); }, input(121),
                    Tolerance{atol / n, 1e-5}, Tolerance{0, 1e-6}});
  }
  return rows;
}

inline const std::vector<OpCase>& op_table() {
  static const std::vector<OpCase> table = [] {
    std::vector<OpCase> all;
    for (auto rows : {elementwise_rows, product_rows, softmax_rows, loss_rows, dropout_and_embedding_rows, shape_rows,
                      reduction_rows})
      for (OpCase& row : rows()) all.push_back(std::move(row));
    return all;
  }();
  return table;
}

}  // namespace legato::testing
