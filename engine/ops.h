#pragma once
// The list of ops. Each computes its result and, when an input takes a gradient, records its
// backward (autograd.h). Inputs must share dtype and device; misuse throws naming the op and shapes.
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/batch_slice.h"
#include "engine/precision.h"
#include "engine/tensor.h"

namespace legato::ops {

// ---- elementwise (ops/elementwise.cpp) ----
// a, b: any shapes that broadcast as NumPy's do (e.g. [N, F] + bias [F]); result: the broadcast shape.
Tensor add(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& x, double factor);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor relu(const Tensor& x);

// ---- linear algebra (ops/matmul.cpp) ----
// a: [M, K] ([K, M] when transpose_a), b: [K, N] ([N, K] when transpose_b) -> [M, N].
// precision: of the product and of its backward's products (engine/precision.h; fp32 by default).
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false,
              Precision precision = Precision::FP32);
// x: [N, in], weight: [out, in] (PyTorch layout), bias: [out] or undefined -> [N, out].
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Precision precision = Precision::FP32);
// A linear layer made ready for many calls of `rows` rows without a graph (generation: one row
// per token): on the CPU in float32, Wᵀ packed once for the products (and rounded to bf16 at that
// precision), where linear() would pack it at every call. The weights must not change while it
// is in use; elsewhere (float64, the GPU) it calls linear().
class LinearStepWeights {
 public:
  LinearStepWeights(const Tensor& weight, const Tensor& bias, int64_t rows, Precision precision = Precision::FP32);
  ~LinearStepWeights();
  // x: [rows, in] -> [rows, out]; records no graph.
  Tensor operator()(const Tensor& x) const;

 private:
  struct Packed;
  Tensor weight_, bias_;
  int64_t rows_;
  Precision precision_;
  std::shared_ptr<const Packed> packed_;
};

// ---- softmax and losses (ops/softmax.cpp, ops/loss.cpp); all over the last dimension ----
Tensor softmax(const Tensor& x);
Tensor log_softmax(const Tensor& x);
// Keras' categorical_crossentropy on probabilities: rows renormalised, clipped to
// [1e-7, 1 - 1e-7], mean over rows of -log p[target]. probs: [N, V], targets: int32 [N] -> [].
Tensor cross_entropy_probs(const Tensor& probs, const Tensor& targets);
// The stable default: log-softmax and negative log-likelihood fused. logits: [N, V], targets: int32 [N] -> [].
Tensor cross_entropy_logits(const Tensor& logits, const Tensor& targets);

// ---- regularisation and lookup (ops/dropout.cpp, ops/embedding.cpp) ----
// Inverted dropout with probability p; element i of the mask comes from Philox(seed, offset + i)
// (i counted in the whole batch: `slice`), the same on every device. Identity when !training or p == 0.
Tensor dropout(const Tensor& x, double p, bool training, uint64_t seed, uint64_t offset, const BatchSlice& slice = {});
// weight: [V, E], indices: int32 of any shape S -> [S..., E].
Tensor embedding(const Tensor& weight, const Tensor& indices);

// ---- shape (ops/shape.cpp) ----
Tensor reshape(const Tensor& x, const Shape& shape);
// Elements [start, end) along dim.
Tensor slice(const Tensor& x, int dim, int64_t start, int64_t end);
Tensor concat(const std::vector<Tensor>& parts, int dim);

// ---- reductions (ops/reduce.cpp): to a scalar of shape [] ----
Tensor sum(const Tensor& x);
Tensor mean(const Tensor& x);

}  // namespace legato::ops
