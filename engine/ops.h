#pragma once
// The list of ops. Each computes its result and, when an input takes a gradient, records its
// backward (autograd.h). Inputs must share dtype and device; misuse throws naming the op and shapes.
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/batch_slice.h"
#include "engine/precision.h"
#include "engine/tensor.h"
#include "kernels/elementwise.h"

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

// The same ops on CUDA tensors, one per file of engine/cuda/ named as above (engine/cuda/<op>.cpp).
// The ops above send an op here when its first input lives on the GPU (LEGATO_ROUTE_TO_CUDA,
// engine/dispatch.h), after their device-free checks; each computes with its kernels' launchers
// (kernels/<op>.h) and cuBLAS on the engine's stream and records its backward in the same
// autograd. Float32 only (int32 for indices); shapes and meanings as above. Declared in every
// build; only builds with the CUDA backend define them, and only they route here.
namespace legato::cuda_ops {

// elementwise.cpp: `op` names the op in errors.
Tensor binary(kernels::BinaryKind kind, const char* op, const Tensor& a, const Tensor& b);
Tensor unary(kernels::UnaryKind kind, const char* op, const Tensor& x);
Tensor scale(const Tensor& x, double factor);
// matmul.cpp
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b, Precision precision);
// softmax.cpp, loss.cpp
Tensor softmax(const Tensor& x);
Tensor log_softmax(const Tensor& x);
Tensor cross_entropy_probs(const Tensor& probs, const Tensor& targets);
Tensor cross_entropy_logits(const Tensor& logits, const Tensor& targets);
// dropout.cpp: slice, the part of the batch x holds, the mask drawn at its windows' places in the
// whole batch. embedding.cpp.
Tensor dropout(const Tensor& x, double p, uint64_t seed, uint64_t offset, const ops::BatchSlice& slice);
Tensor embedding(const Tensor& weight, const Tensor& indices);
// reduce.cpp
Tensor sum(const Tensor& x);
Tensor mean(const Tensor& x);
// shape.cpp: the block [outer, count, inner] of src (seen as [outer, src_size, inner], from
// src_start along the middle axis) copied into dst (seen as [outer, dst_size, inner], from
// dst_start), or added when add: slice and concat, forward and backward.
void copy_block(const Tensor& src, int64_t src_size, int64_t src_start, Tensor& dst, int64_t dst_size,
                int64_t dst_start, int64_t outer, int64_t count, int64_t inner, bool add);
// autograd.cpp's gradient accumulation: dst += src, same shape, both float32 on the GPU.
void accumulate(Tensor& dst, const Tensor& src);

}  // namespace legato::cuda_ops
