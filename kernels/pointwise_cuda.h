#pragma once
// Launchers of the fused pointwise and row kernels (the rest of the CUDA backend's kernels beside
// the LSTM cell). Device pointers owned by the caller, float32, row-major; every launch checked.
#include <cstdint>

typedef struct CUstream_st* cudaStream_t;

namespace legato::kernels {

// y[i] = x[i] * mask[i]; mask[i] = dropout_scale(seed, offset, i, p) (philox.h), the CPU's mask
// bit for bit. x, y, mask: [n]; y may alias x.
void dropout_launch(const float* x, float* y, float* mask, int64_t n, float p, uint64_t seed, uint64_t offset,
                    cudaStream_t stream);

// y [rows, cols] in place: y = x + bias (bias [cols]), then max(0, .) when relu.
void bias_relu_launch(float* y, const float* bias, int64_t rows, int64_t cols, bool relu, cudaStream_t stream);

// One block per row of logits [rows, V]: row_loss [rows] = -log softmax(z)[target] and
// dlogits [rows, V] = (softmax - onehot) * scale. targets: int32 [rows]; a row whose target is
// outside [0, V) gets a NaN loss and a zero gradient (nothing is read outside the row).
void softmax_xent_launch(const float* logits, const int32_t* targets, float* row_loss, float* dlogits, int64_t rows,
                         int64_t vocab, float scale, cudaStream_t stream);

// out [count, E] = table[indices] (table [V, E]); backward adds rows back (atomics: repeated
// tokens in one batch add into the same row).
void embedding_forward_launch(const float* table, const int32_t* indices, float* out, int64_t count, int64_t width,
                              cudaStream_t stream);
void embedding_backward_launch(const float* dout, const int32_t* indices, float* dtable, int64_t count, int64_t width,
                               cudaStream_t stream);

// The optimisers' per-parameter rules (optim_update.h) over [n] elements.
void rmsprop_launch(float* w, float* v, const float* g, int64_t n, float lr, float rho, float eps, cudaStream_t stream);
void adam_launch(float* w, float* m, float* v, const float* g, int64_t n, float lr_t, float beta1, float beta2,
                 float eps, cudaStream_t stream);

// *sum_of_squares += sum(g^2) over [n] (block partial sums, one atomic add per block).
void sum_of_squares_launch(const float* g, int64_t n, float* sum_of_squares, cudaStream_t stream);

}  // namespace legato::kernels
