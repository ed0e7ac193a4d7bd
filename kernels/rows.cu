// The CUDA backend's row kernels (softmax, log-softmax, Keras' cross-entropy on probabilities)
// and the whole-array sum: one block per row, whose threads stride over its columns and meet in
// block_reduce, so any number of columns works with a fixed block size.
#include <cmath>

#include "block_reduce.cuh"
#include "cuda_check.h"
#include "launch.h"
#include "tensor_ops_cuda.h"

namespace legato::kernels {
namespace {

constexpr int kThreads = 256;       // per row; a power of two (block_reduce)
constexpr int kSumThreads = 1024;   // the one block of sum_kernel; a power of two

// y may alias x: each thread writes only the columns it reads last, after both reductions (whose
// barriers keep every read of the row before any write).
__global__ void softmax_rows_kernel(const float* x, float* y, int64_t cols, bool log) {
  __shared__ float shared[kThreads];
  const float* xr = x + static_cast<int64_t>(blockIdx.x) * cols;
  float* yr = y + static_cast<int64_t>(blockIdx.x) * cols;
  float local_max = -INFINITY;  // as the CPU's maxCoeff: a row of -inf gives NaN, not a number
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) local_max = fmaxf(local_max, xr[j]);
  const float row_max = block_reduce<true>(local_max, shared);
  float local_sum = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) local_sum += expf(xr[j] - row_max);
  const float total = block_reduce<false>(local_sum, shared);
  if (log) {
    const float log_total = logf(total);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = xr[j] - row_max - log_total;
  } else {
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = expf(xr[j] - row_max) / total;
  }
}

// softmax: dx += y * (dy - <dy, y>);  log_softmax (y = x - logsumexp): dx += dy - exp(y) * sum(dy).
__global__ void softmax_rows_backward_kernel(const float* __restrict__ y, const float* __restrict__ dy,
                                             float* __restrict__ dx, int64_t cols, bool log) {
  __shared__ float shared[kThreads];
  const int64_t base = static_cast<int64_t>(blockIdx.x) * cols;
  float local = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) local += log ? dy[base + j] : dy[base + j] * y[base + j];
  const float s = block_reduce<false>(local, shared);
  for (int64_t j = base + threadIdx.x; j < base + cols; j += blockDim.x)
    dx[j] += log ? dy[j] - expf(y[j]) * s : y[j] * (dy[j] - s);
}

// std::clamp's order of comparisons: NaN passes through, as on the CPU.
__device__ __forceinline__ float clamp(float v, float lo, float hi) { return v < lo ? lo : hi < v ? hi : v; }

// A target outside [0, cols) (which the CPU rejects with an exception) reads nothing: its row's
// loss is NaN, visible in the mean, and its gradient nothing.
__device__ __forceinline__ bool valid_target(int32_t t, int64_t cols) { return t >= 0 && t < cols; }

// row_loss = -log(clamp(p[t] / S, eps, 1 - eps)), S the row's sum (Keras normalises the row first).
// 1 - eps is rounded to float here, in double then float on the CPU: the same for Keras' 1e-7.
__global__ void xent_probs_forward_kernel(const float* __restrict__ probs, const int32_t* __restrict__ targets,
                                          float* __restrict__ row_loss, int64_t cols, float eps) {
  __shared__ float shared[kThreads];
  const float* pr = probs + static_cast<int64_t>(blockIdx.x) * cols;
  float local = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) local += pr[j];
  const float total = block_reduce<false>(local, shared);
  if (threadIdx.x != 0) return;
  const int32_t t = targets[blockIdx.x];
  row_loss[blockIdx.x] = valid_target(t, cols) ? -logf(clamp(pr[t] / total, eps, 1.0f - eps)) : NAN;
}

// d(-log(p_t / S))/dp_j = 1/S - [j == t] / p_t, times g = *grad / rows; nothing for a clipped row
// (the clamp's derivative is 0 there). Same order of additions as the CPU: dp += g/S, then -= g/p_t.
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
  const float q = p_t / total;
  if (q < eps || q > 1.0f - eps) return;
  const float g = *grad / static_cast<float>(rows);
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    float d = dprobs[base + j] + g / total;
    if (j == t) d -= g / p_t;
    dprobs[base + j] = d;
  }
}

// One block: each thread sums a fixed stride of x, then the fixed tree of block_reduce. The order
// of additions depends only on n: the same result every run.
__global__ void sum_kernel(const float* __restrict__ x, int64_t n, float alpha, float* __restrict__ out) {
  __shared__ float shared[kSumThreads];
  float local = 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) local += x[i];
  const float total = block_reduce<false>(local, shared);
  if (threadIdx.x == 0) *out = alpha * total;
}

}  // namespace

void softmax_rows_launch(const float* x, float* y, int64_t rows, int64_t cols, bool log, cudaStream_t stream) {
  if (rows == 0) return;
  LEGATO_LAUNCH(softmax_rows_kernel, static_cast<unsigned>(rows), kThreads, 0, stream, x, y, cols, log);
}

void softmax_rows_backward_launch(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols, bool log,
                                  cudaStream_t stream) {
  if (rows == 0) return;
  LEGATO_LAUNCH(softmax_rows_backward_kernel, static_cast<unsigned>(rows), kThreads, 0, stream, y, dy, dx, cols, log);
}

void xent_probs_forward_launch(const float* probs, const int32_t* targets, float* row_loss, int64_t rows,
                               int64_t cols, float eps, cudaStream_t stream) {
  if (rows == 0) return;
  LEGATO_LAUNCH(xent_probs_forward_kernel, static_cast<unsigned>(rows), kThreads, 0, stream, probs, targets,
                row_loss, cols, eps);
}

void xent_probs_backward_launch(const float* probs, const int32_t* targets, const float* grad, float* dprobs,
                                int64_t rows, int64_t cols, float eps, cudaStream_t stream) {
  if (rows == 0) return;
  LEGATO_LAUNCH(xent_probs_backward_kernel, static_cast<unsigned>(rows), kThreads, 0, stream, probs, targets, grad,
                dprobs, rows, cols, eps);
}

void sum_launch(const float* x, int64_t n, float alpha, float* out, cudaStream_t stream) {
  if (n == 0) {  // the empty sum: write 0 without a launch
    LEGATO_CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(float), stream));
    return;
  }
  LEGATO_LAUNCH(sum_kernel, 1, kSumThreads, 0, stream, x, n, alpha, out);
}

}  // namespace legato::kernels
