#pragma once
// Launchers of the generic kernels behind the engine's ops on CUDA (elementwise with broadcasting,
// row softmax, the Keras loss, reductions, strided copies) and the fused multi-tensor optimiser
// step. float32, row-major, device pointers owned by the caller; every launch is checked.
// "+=" in a comment means the launcher accumulates into the output (autograd's convention).
// Declared without CUDA headers so that host-only code can include it.
#include <cstdint>

typedef struct CUstream_st* cudaStream_t;

namespace legato::kernels {

constexpr int kMaxDims = 8;

// Where element i of a broadcast result reads its two operands: per result axis, the extent and
// each operand's stride (0 along the axes it is broadcast over), NumPy's rules.
struct BroadcastGeometry {
  int ndim = 0;
  int64_t out_shape[kMaxDims] = {};
  int64_t stride_a[kMaxDims] = {};
  int64_t stride_b[kMaxDims] = {};
};

enum class BinaryKind { Add, Mul };
enum class UnaryKind { Sigmoid, Tanh, Relu };

// out [numel(out_shape)] = a op b, read through the geometry.
void broadcast_binary_launch(BinaryKind kind, const float* a, const float* b, float* out, const BroadcastGeometry& g,
                             cudaStream_t stream);

// The gradient of operand a (swap the strides for b): da[j] += sum over the result elements i
// that read a[j] of dout[i] * (other ? other[ib] : 1), where other is the second operand of a
// Mul. Each element of a is owned by a column of one block, whose threads split its broadcast
// axes and add their partial sums in a fixed order: deterministic, no atomics.
// a_numel: elements of a (contiguous, row-major over its shape aligned to the result).
void broadcast_grad_launch(const float* dout, const float* other, float* da, int64_t a_numel,
                           const BroadcastGeometry& g, cudaStream_t stream);

// y [n] = f(x); y may alias x.
void unary_forward_launch(UnaryKind kind, const float* x, float* y, int64_t n, cudaStream_t stream);
// dx [n] += dy * f'(x), with f' written in terms of the forward's output y.
void unary_backward_launch(UnaryKind kind, const float* y, const float* dy, float* dx, int64_t n,
                           cudaStream_t stream);

// y [n] = alpha * x; y may alias x.
void scale_launch(const float* x, float* y, int64_t n, float alpha, cudaStream_t stream);
// y [n] += alpha * s * x, s = *scalar (a device value such as a scalar output's gradient) or 1 when null.
void axpy_launch(const float* x, float* y, int64_t n, float alpha, const float* scalar, cudaStream_t stream);
// y [n] += alpha * s, s as above.
void add_scalar_launch(float* y, int64_t n, float alpha, const float* scalar, cudaStream_t stream);
// y [n] = value.
void fill_launch(float* y, int64_t n, float value, cudaStream_t stream);

// One block per row of x [rows, cols]: y = softmax(x) or log_softmax(x), max-subtracted.
void softmax_rows_launch(const float* x, float* y, int64_t rows, int64_t cols, bool log, cudaStream_t stream);
// dx [rows, cols] += y * (dy - <dy, y>) (softmax) or dy - exp(y) * sum(dy) (log_softmax).
void softmax_rows_backward_launch(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols, bool log,
                                  cudaStream_t stream);

// Keras' categorical cross-entropy on probabilities [rows, cols], targets int32 [rows]:
// row_loss [rows] = -log(clamp(p[t] / sum(p), eps, 1 - eps)).
void xent_probs_forward_launch(const float* probs, const int32_t* targets, float* row_loss, int64_t rows,
                               int64_t cols, float eps, cudaStream_t stream);
// dprobs [rows, cols] += (g / rows) * (1 / S - [j == t] / p[t]) per row, g = *grad (device
// scalar), S the row's sum; rows whose p[t] / S was clipped get nothing.
void xent_probs_backward_launch(const float* probs, const int32_t* targets, const float* grad, float* dprobs,
                                int64_t rows, int64_t cols, float eps, cudaStream_t stream);

// *out = alpha * sum(x [n]) (writes; deterministic: a fixed tree of partial sums).
void sum_launch(const float* x, int64_t n, float alpha, float* out, cudaStream_t stream);

// dst[r * dst_pitch + c] += src[r * src_pitch + c] for r < rows, c < cols (pitches in elements):
// the backward of a slice or of one part of a concatenation.
void add_2d_launch(float* dst, int64_t dst_pitch, const float* src, int64_t src_pitch, int64_t rows, int64_t cols,
                   cudaStream_t stream);

// One parameter of the fused optimiser step: weights, its gradient and the optimiser's slots
// (RMSprop uses v only; Adam m and v), all [n].
struct OptimSlot {
  float* w = nullptr;
  float* g = nullptr;  // written only by scale_grads_multi_launch
  float* m = nullptr;
  float* v = nullptr;
  int64_t n = 0;
};

// Every parameter updated by one launch (a few when there are very many), the per-element rules
// of optim_update.h. slots: a host array of count entries (passed to the kernel by value).
void rmsprop_multi_launch(const OptimSlot* slots, int count, float lr, float rho, float eps, cudaStream_t stream);
void adam_multi_launch(const OptimSlot* slots, int count, float lr_t, float beta1, float beta2, float eps,
                       cudaStream_t stream);
// *out = sum over all slots of sum(g^2) (writes), in one launch and a fixed-order final sum.
void sum_of_squares_multi_launch(const OptimSlot* slots, int count, float* out, cudaStream_t stream);
// g *= factor for every slot's gradient (the clipping of a global norm).
void scale_grads_multi_launch(const OptimSlot* slots, int count, float factor, cudaStream_t stream);

}  // namespace legato::kernels
