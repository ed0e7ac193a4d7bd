// The CUDA backend's pointwise and row kernels; each element's arithmetic comes from the shared
// host/device bodies (philox.h, softmax_xent.h, optim_update.h) that the CPU tests check.
#include <cfloat>
#include <cmath>

#include "block_reduce.cuh"
#include "cuda_check.h"
#include "launch.h"
#include "optim_update.h"
#include "philox.h"
#include "pointwise_cuda.h"
#include "softmax_xent.h"

namespace legato::kernels {
namespace {

constexpr int kThreads = 256;

int blocks_for(int64_t n) { return static_cast<int>((n + kThreads - 1) / kThreads); }

__global__ void dropout_kernel(const float* x, float* y, float* __restrict__ mask, int64_t n, float p, uint64_t seed,
                               uint64_t offset) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float m = dropout_scale<float>(seed, offset, static_cast<uint64_t>(i), p);
  mask[i] = m;
  y[i] = x[i] * m;
}

__global__ void bias_relu_kernel(float* y, const float* __restrict__ bias, int64_t rows, int64_t cols, bool relu) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows * cols) return;
  y[i] = bias_relu(y[i], bias[i % cols], relu);
}

__global__ void softmax_xent_kernel(const float* __restrict__ logits, const int32_t* __restrict__ targets,
                                    float* __restrict__ row_loss, float* __restrict__ dlogits, int64_t vocab,
                                    float scale) {
  __shared__ float shared[kThreads];
  const int64_t row = blockIdx.x;
  const float* z = logits + row * vocab;
  float local_max = -FLT_MAX;
  for (int64_t j = threadIdx.x; j < vocab; j += blockDim.x) local_max = fmaxf(local_max, z[j]);
  const float row_max = block_reduce<true>(local_max, shared);
  float local_sum = 0.0f;
  for (int64_t j = threadIdx.x; j < vocab; j += blockDim.x) local_sum += expf(z[j] - row_max);
  const float row_sum = block_reduce<false>(local_sum, shared);
  // The host checks the targets; a target outside [0, vocab) still reads nothing here: its row's
  // loss is NaN, visible in the mean, and its gradient 0.
  const int32_t target = targets[row];
  const bool valid = target >= 0 && target < vocab;
  if (threadIdx.x == 0) row_loss[row] = valid ? softmax_xent_loss(z[target], row_max, row_sum) : NAN;
  for (int64_t j = threadIdx.x; j < vocab; j += blockDim.x)
    dlogits[row * vocab + j] = valid ? softmax_xent_grad(z[j], row_max, row_sum, j == target, scale) : 0.0f;
}

__global__ void embedding_forward_kernel(const float* __restrict__ table, const int32_t* __restrict__ indices,
                                         float* __restrict__ out, int64_t count, int64_t width) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count * width) return;
  out[i] = table[static_cast<int64_t>(indices[i / width]) * width + i % width];
}

__global__ void embedding_backward_kernel(const float* __restrict__ dout, const int32_t* __restrict__ indices,
                                          float* dtable, int64_t count, int64_t width) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count * width) return;
  atomicAdd(&dtable[static_cast<int64_t>(indices[i / width]) * width + i % width], dout[i]);
}

__global__ void rmsprop_kernel(float* w, float* v, const float* __restrict__ g, int64_t n, float lr, float rho,
                               float eps) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) rmsprop_update(&w[i], &v[i], g[i], lr, rho, eps);
}

__global__ void adam_kernel(float* w, float* m, float* v, const float* __restrict__ g, int64_t n, float lr_t,
                            float beta1, float beta2, float eps) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) adam_update(&w[i], &m[i], &v[i], g[i], lr_t, beta1, beta2, eps);
}

__global__ void sum_of_squares_kernel(const float* __restrict__ g, int64_t n, float* total) {
  __shared__ float shared[kThreads];
  float local = 0.0f;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    local += g[i] * g[i];
  const float block_total = block_reduce<false>(local, shared);
  if (threadIdx.x == 0) atomicAdd(total, block_total);
}

}  // namespace

void dropout_launch(const float* x, float* y, float* mask, int64_t n, float p, uint64_t seed, uint64_t offset,
                    cudaStream_t stream) {
  if (n == 0) return;
  LEGATO_LAUNCH(dropout_kernel, blocks_for(n), kThreads, 0, stream, x, y, mask, n, p, seed, offset);
}

void bias_relu_launch(float* y, const float* bias, int64_t rows, int64_t cols, bool relu, cudaStream_t stream) {
  if (rows * cols == 0) return;
  LEGATO_LAUNCH(bias_relu_kernel, blocks_for(rows * cols), kThreads, 0, stream, y, bias, rows, cols, relu);
}

void softmax_xent_launch(const float* logits, const int32_t* targets, float* row_loss, float* dlogits, int64_t rows,
                         int64_t vocab, float scale, cudaStream_t stream) {
  if (rows == 0) return;
  LEGATO_LAUNCH(softmax_xent_kernel, static_cast<unsigned>(rows), kThreads, 0, stream, logits, targets, row_loss,
                dlogits, vocab, scale);
}

void embedding_forward_launch(const float* table, const int32_t* indices, float* out, int64_t count, int64_t width,
                              cudaStream_t stream) {
  if (count * width == 0) return;
  LEGATO_LAUNCH(embedding_forward_kernel, blocks_for(count * width), kThreads, 0, stream, table, indices, out, count,
                width);
}

void embedding_backward_launch(const float* dout, const int32_t* indices, float* dtable, int64_t count, int64_t width,
                               cudaStream_t stream) {
  if (count * width == 0) return;
  LEGATO_LAUNCH(embedding_backward_kernel, blocks_for(count * width), kThreads, 0, stream, dout, indices, dtable,
                count, width);
}

void rmsprop_launch(float* w, float* v, const float* g, int64_t n, float lr, float rho, float eps, cudaStream_t stream) {
  if (n == 0) return;
  LEGATO_LAUNCH(rmsprop_kernel, blocks_for(n), kThreads, 0, stream, w, v, g, n, lr, rho, eps);
}

void adam_launch(float* w, float* m, float* v, const float* g, int64_t n, float lr_t, float beta1, float beta2,
                 float eps, cudaStream_t stream) {
  if (n == 0) return;
  LEGATO_LAUNCH(adam_kernel, blocks_for(n), kThreads, 0, stream, w, m, v, g, n, lr_t, beta1, beta2, eps);
}

void sum_of_squares_launch(const float* g, int64_t n, float* sum_of_squares, cudaStream_t stream) {
  if (n == 0) return;
  const int blocks = std::min(blocks_for(n), 1024);  // grid-stride beyond that: few atomics
  LEGATO_LAUNCH(sum_of_squares_kernel, blocks, kThreads, 0, stream, g, n, sum_of_squares);
}

}  // namespace legato::kernels
