#pragma once
// The engine's ops on CUDA tensors. engine/ops/*.cpp send an op here when its first input lives on
// the GPU (LEGATO_ROUTE_TO_CUDA); each computes with the kernels/ launchers and cuBLAS on the
// engine's stream and records its backward in the same autograd as the CPU ops. The CUDA backend
// computes in float32 (int32 for indices); inputs elsewhere are refused naming the op and shapes.
// Shapes and meanings are those of the matching declarations in engine/ops.h and engine/ops/lstm.h.
#include <cstdint>
#include <vector>

#include "engine/ops/lstm.h"
#include "engine/tensor.h"
#include "kernels/elementwise.h"

namespace legato::cuda_ops {

Tensor binary(kernels::BinaryKind kind, const char* op, const Tensor& a, const Tensor& b);
Tensor unary(kernels::UnaryKind kind, const char* op, const Tensor& x);
Tensor scale(const Tensor& x, double factor);
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b, Precision precision);
Tensor softmax(const Tensor& x);
Tensor log_softmax(const Tensor& x);
Tensor cross_entropy_probs(const Tensor& probs, const Tensor& targets);
Tensor cross_entropy_logits(const Tensor& logits, const Tensor& targets);
// slice: the part of the batch x holds, the mask drawn at its windows' places in the whole batch.
Tensor dropout(const Tensor& x, double p, uint64_t seed, uint64_t offset, const ops::BatchSlice& slice);
Tensor embedding(const Tensor& weight, const Tensor& indices);
Tensor sum(const Tensor& x);
Tensor mean(const Tensor& x);

// The block [outer, count, inner] of src (seen as [outer, src_size, inner], from src_start along
// the middle axis) copied into dst (seen as [outer, dst_size, inner], from dst_start), or added
// when add: slice and concat, forward and backward.
void copy_block(const Tensor& src, int64_t src_size, int64_t src_start, Tensor& dst, int64_t dst_size,
                int64_t dst_start, int64_t outer, int64_t count, int64_t inner, bool add);

// Arguments already checked by engine/ops/lstm.cpp (shapes, one device, one dtype).
ops::LstmOutputs lstm(const Tensor& x, const Tensor& h0, const Tensor& c0, const ops::LstmWeights& weights,
                      bool last_only, Precision precision);
void lstm_step(const Tensor& x, Tensor& h, Tensor& c, const ops::LstmWeights& weights, Tensor& gates,
               Precision precision);
Tensor lstm_stack(const Tensor& x, const std::vector<ops::LstmWeights>& layers, const ops::LstmStackOptions& options);

// The optimisers' fused steps: every parameter that has a gradient updated in one launch.
// params [P] and the slot lists parallel to it (Adam's first moments m, the mean squares v).
void rmsprop_step(const std::vector<Tensor>& params, const std::vector<Tensor>& v, double lr, double rho, double eps);
void adam_step(const std::vector<Tensor>& params, const std::vector<Tensor>& m, const std::vector<Tensor>& v,
               double lr_t, double beta1, double beta2, double eps);
// The global L2 norm of the gradients (one launch, read back), and every gradient scaled by
// max_norm / norm when it is larger. Returns the norm before clipping.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

// dst += src, same shape, both float32 on the GPU.
void accumulate(Tensor& dst, const Tensor& src);

}  // namespace legato::cuda_ops
