// The two cross-entropies, one block per row: Keras' on probabilities and the fused softmax
// cross-entropy on logits. Each element's arithmetic comes from loss.h, which the CPU op runs too.
#include <cmath>

#include "block_reduce.cuh"
#include "block_row.cuh"
#include "grid.h"
#include "launch.h"
#include "loss.h"
#include "softmax.h"

namespace legato::kernels {
namespace {

// A target outside [0, cols) (which the CPU rejects with an exception) reads nothing: its row's
// loss is NaN, visible in the mean, and its gradient nothing.
__device__ __forceinline__ bool valid_target(int32_t t, int64_t cols) { return t >= 0 && t < cols; }

// row_loss = keras_xent_loss (loss.h), S the row's sum.
__global__ void xent_probs_forward_kernel(const float* __restrict__ probs, const int32_t* __restrict__ targets,
                                          float* __restrict__ row_loss, int64_t cols, float eps) {
  __shared__ float shared[kThreads];
  const float* pr = probs + static_cast<int64_t>(blockIdx.x) * cols;
  float local = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) local += pr[j];
  const float total = block_reduce<false>(local, shared);
  if (threadIdx.x != 0) return;
  const int32_t t = targets[blockIdx.x];
  row_loss[blockIdx.x] = valid_target(t, cols) ? keras_xent_loss(pr[t], total, eps) : NAN;
}

// dprobs += keras_xent_grad (loss.h) with g = *grad / rows; nothing for a clipped row.
__global__ void xent_probs_backward_kernel(const float* __restrict__ probs, const int32_t* __restrict__ targets,
                                           const float* __restrict__ grad, float* __restrict__ dprobs, int64_t rows,
                                           int64_t cols, float eps) {
  __shared__ float shared[kThreads];
  const int64_t base = static_cast<int64_t>(blockIdx.x) * cols;
  float local = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) local += probs[base + j];
  const float total = block_reduce<false>(local, shared);
  // The returns below are the same for every thread of the row, and come after the last barrier.
  const int32_t t = targets[blockIdx.x];
  if (!valid_target(t, cols)) return;
  const float p_t = probs[base + t];
  if (keras_xent_clipped(p_t, total, eps)) return;
  const float g = *grad / static_cast<float>(rows);
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
    dprobs[base + j] = keras_xent_grad(dprobs[base + j], p_t, total, j == t, g);
}

// row_loss = softmax_xent_loss and dlogits = softmax_xent_grad (loss.h) of softmax.h's row.
__global__ void softmax_xent_kernel(const float* __restrict__ logits, const int32_t* __restrict__ targets,
                                    float* __restrict__ row_loss, float* __restrict__ dlogits, int64_t vocab,
                                    float scale) {
  __shared__ float shared[kThreads];
  const int64_t base = static_cast<int64_t>(blockIdx.x) * vocab;
  BlockRow row{logits + base, dlogits + base, vocab, shared};
  const SoftmaxStats<float> stats = softmax_row(row, false);  // dlogits' row holds the softmax
  // The host checks the targets; a target outside [0, vocab) still reads nothing here: its row's
  // loss is NaN, visible in the mean, and its gradient 0.
  const int32_t target = targets[blockIdx.x];
  const bool valid = valid_target(target, vocab);
  if (threadIdx.x == 0) row_loss[blockIdx.x] = valid ? softmax_xent_loss(row.x[target], stats.max, stats.sum) : NAN;
  // Each thread turns the columns it wrote into their gradient: no barrier needed.
  for (int64_t j = threadIdx.x; j < vocab; j += blockDim.x)
    row.y[j] = valid ? softmax_xent_grad(0.0f, row.y[j], j == target, scale) : 0.0f;
}

}  // namespace

void xent_probs_forward_launch(const float* probs, const int32_t* targets, float* row_loss, int64_t rows, int64_t cols,
                               float eps, cudaStream_t stream) {
  if (rows == 0) return;
  LEGATO_LAUNCH(xent_probs_forward_kernel, static_cast<unsigned>(rows), kThreads, 0, stream, probs, targets, row_loss,
                cols, eps);
}

void xent_probs_backward_launch(const float* probs, const int32_t* targets, const float* grad, float* dprobs,
                                int64_t rows, int64_t cols, float eps, cudaStream_t stream) {
  if (rows == 0) return;
  LEGATO_LAUNCH(xent_probs_backward_kernel, static_cast<unsigned>(rows), kThreads, 0, stream, probs, targets, grad,
                dprobs, rows, cols, eps);
}

void softmax_xent_launch(const float* logits, const int32_t* targets, float* row_loss, float* dlogits, int64_t rows,
                         int64_t vocab, float scale, cudaStream_t stream) {
  if (rows == 0) return;
  LEGATO_LAUNCH(softmax_xent_kernel, static_cast<unsigned>(rows), kThreads, 0, stream, logits, targets, row_loss,
                dlogits, vocab, scale);
}

}  // namespace legato::kernels
