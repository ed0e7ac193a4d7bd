// A CPU stand-in for the kernels, so the CUDA backend's host code runs in CI without a GPU; the
// kernels themselves are checked only on a GPU by tests/test_cuda*.cpp. Linked with
// fake_runtime.cpp instead of kernels/*.cu: "device" memory is host memory, every launcher runs
// at once on the calling thread (the stream is ignored), and each is the plain loop of what its
// header specifies, through the per-element bodies the kernels share (lstm_cell.h, philox.h,
// softmax_xent.h, optim_update.h). Reductions add in double: a reference, not the GPU's order.
// Contracts that the host code must keep and a kernel could not check (a broadcast gradient's
// layout, the logits' targets) throw here rather than read out of bounds.
#include <atomic>
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>

#include "kernels/device_allocator.h"
#include "kernels/lstm_cell.h"
#include "kernels/lstm_cell_cuda.h"
#include "kernels/optim_update.h"
#include "kernels/philox.h"
#include "kernels/pointwise_cuda.h"
#include "kernels/softmax_xent.h"
#include "kernels/tensor_ops_cuda.h"

namespace legato::kernels {
namespace {

// sum over i < n of term(i), added in double.
template <class Term>
float sum_over(int64_t n, Term term) {
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) total += term(i);
  return static_cast<float>(total);
}

// fmax as the kernels' fmaxf: a NaN is passed over. init: -inf (softmax) or -FLT_MAX (the fused loss).
float row_max(const float* x, int64_t n, float init) {
  float m = init;
  for (int64_t j = 0; j < n; ++j) m = std::fmax(m, x[j]);
  return m;
}

float scalar_or_one(const float* scalar) { return scalar ? *scalar : 1.0f; }

// ---- Broadcasting -------------------------------------------------------------------------

int64_t numel(const BroadcastGeometry& g) {
  int64_t n = 1;  // ndim == 0: one element
  for (int k = 0; k < g.ndim; ++k) n *= g.out_shape[k];
  return n;
}

struct Offsets {
  int64_t a = 0, b = 0;
};

// Where result element i (row-major over out_shape) reads a and b.
Offsets offsets(const BroadcastGeometry& g, int64_t i) {
  Offsets o;
  for (int k = g.ndim - 1; k >= 0; --k) {
    const int64_t index = i % g.out_shape[k];
    i /= g.out_shape[k];
    o.a += index * g.stride_a[k];
    o.b += index * g.stride_b[k];
  }
  return o;
}

// broadcast_grad_launch's contract: a is contiguous, row-major over the result's axes it is not
// broadcast along (stride 0), and has a_numel elements. elementwise.cu checks the count only
// and indexes da by position; here the offsets must agree with that too.
void check_grad_geometry(const BroadcastGeometry& g, int64_t a_numel) {
  int64_t expected = 1;
  for (int k = g.ndim - 1; k >= 0; --k) {
    if (g.stride_a[k] == 0 || g.out_shape[k] == 1) continue;
    if (g.stride_a[k] != expected)
      throw std::invalid_argument("broadcast_grad_launch: stride " + std::to_string(g.stride_a[k]) + " of axis " +
                                  std::to_string(k) + " is not the row-major " + std::to_string(expected));
    expected *= g.out_shape[k];
  }
  if (expected != a_numel)
    throw std::invalid_argument("broadcast_grad_launch: a_numel " + std::to_string(a_numel) +
                                " does not match the geometry's non-broadcast axes (" + std::to_string(expected) + ")");
}

// ---- Activations --------------------------------------------------------------------------

float activate(UnaryKind kind, float x) {
  switch (kind) {
    case UnaryKind::Sigmoid: return sigmoid(x);
    case UnaryKind::Tanh: return std::tanh(x);
    case UnaryKind::Relu: return x > 0.0f ? x : 0.0f;
  }
  return x;
}

// dy * f'(x) in terms of y = f(x); a ReLU passes dy or 0 (never dy * 0).
float input_grad(UnaryKind kind, float y, float dy) {
  switch (kind) {
    case UnaryKind::Sigmoid: return dy * y * (1.0f - y);
    case UnaryKind::Tanh: return dy * (1.0f - y * y);
    case UnaryKind::Relu: return y > 0.0f ? dy : 0.0f;
  }
  return 0.0f;
}

// ---- Rows ---------------------------------------------------------------------------------

float clamp(float v, float lo, float hi) { return v < lo ? lo : hi < v ? hi : v; }  // NaN passes, as std::clamp
bool valid_target(int32_t t, int64_t cols) { return t >= 0 && t < cols; }

// ---- Optimiser slots ----------------------------------------------------------------------

template <class Fn>
void for_each_element(const OptimSlot* slots, int count, Fn fn) {
  for (int s = 0; s < count; ++s)
    for (int64_t i = 0; i < slots[s].n; ++i) fn(slots[s], i);  // n == 0: pointers may be null, never read
}

// ---- LSTM cell: element (b, j) of gate k lives at b * 4H + k * H + j ----------------------

LstmGates<float> load_gates(const float* p, int hidden) { return {p[0], p[hidden], p[2 * hidden], p[3 * hidden]}; }

void store_gates(float* p, int hidden, const LstmGates<float>& gates) {
  p[0] = gates.i;
  p[hidden] = gates.f;
  p[2 * hidden] = gates.g;
  p[3 * hidden] = gates.o;
}

size_t gate_base(int b, int j, int hidden) { return static_cast<size_t>(b) * 4 * hidden + j; }

std::atomic<size_t> g_system_allocations{0};
constexpr size_t kAlignment = 256;  // cudaMalloc's

}  // namespace

// ---- tensor_ops_cuda.h --------------------------------------------------------------------

void broadcast_binary_launch(BinaryKind kind, const float* a, const float* b, float* out, const BroadcastGeometry& g,
                             cudaStream_t) {
  const int64_t n = numel(g);
  for (int64_t i = 0; i < n; ++i) {
    const Offsets o = offsets(g, i);
    out[i] = kind == BinaryKind::Mul ? a[o.a] * b[o.b] : a[o.a] + b[o.b];
  }
}

void broadcast_grad_launch(const float* dout, const float* other, float* da, int64_t a_numel,
                           const BroadcastGeometry& g, cudaStream_t) {
  if (a_numel == 0) return;
  check_grad_geometry(g, a_numel);
  const int64_t n = numel(g);
  for (int64_t i = 0; i < n; ++i) {
    const Offsets o = offsets(g, i);
    da[o.a] += dout[i] * (other ? other[o.b] : 1.0f);
  }
}

void unary_forward_launch(UnaryKind kind, const float* x, float* y, int64_t n, cudaStream_t) {
  for (int64_t i = 0; i < n; ++i) y[i] = activate(kind, x[i]);
}

void unary_backward_launch(UnaryKind kind, const float* y, const float* dy, float* dx, int64_t n, cudaStream_t) {
  for (int64_t i = 0; i < n; ++i) dx[i] += input_grad(kind, y[i], dy[i]);
}

void scale_launch(const float* x, float* y, int64_t n, float alpha, cudaStream_t) {
  for (int64_t i = 0; i < n; ++i) y[i] = alpha * x[i];
}

void axpy_launch(const float* x, float* y, int64_t n, float alpha, const float* scalar, cudaStream_t) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * scalar_or_one(scalar) * x[i];
}

void add_scalar_launch(float* y, int64_t n, float alpha, const float* scalar, cudaStream_t) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * scalar_or_one(scalar);
}

void fill_launch(float* y, int64_t n, float value, cudaStream_t) {
  for (int64_t i = 0; i < n; ++i) y[i] = value;
}

void softmax_rows_launch(const float* x, float* y, int64_t rows, int64_t cols, bool log, cudaStream_t) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;  // may be xr: each element is read before it is written
    const float m = row_max(xr, cols, -std::numeric_limits<float>::infinity());
    const float total = sum_over(cols, [&](int64_t j) { return std::exp(xr[j] - m); });
    const float log_total = std::log(total);
    for (int64_t j = 0; j < cols; ++j) yr[j] = log ? xr[j] - m - log_total : std::exp(xr[j] - m) / total;
  }
}

void softmax_rows_backward_launch(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols, bool log,
                                  cudaStream_t) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *yr = y + r * cols, *dyr = dy + r * cols;
    float* dxr = dx + r * cols;
    const float s = sum_over(cols, [&](int64_t j) { return log ? dyr[j] : dyr[j] * yr[j]; });
    for (int64_t j = 0; j < cols; ++j) dxr[j] += log ? dyr[j] - std::exp(yr[j]) * s : yr[j] * (dyr[j] - s);
  }
}

// A target outside [0, cols) gives a NaN loss and no gradient, as rows.cu documents.
void xent_probs_forward_launch(const float* probs, const int32_t* targets, float* row_loss, int64_t rows,
                               int64_t cols, float eps, cudaStream_t) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* pr = probs + r * cols;
    const float total = sum_over(cols, [&](int64_t j) { return pr[j]; });
    const int32_t t = targets[r];
    row_loss[r] = valid_target(t, cols) ? -std::log(clamp(pr[t] / total, eps, 1.0f - eps))
                                        : std::numeric_limits<float>::quiet_NaN();
  }
}

void xent_probs_backward_launch(const float* probs, const int32_t* targets, const float* grad, float* dprobs,
                                int64_t rows, int64_t cols, float eps, cudaStream_t) {
  const float g = *grad / static_cast<float>(rows);
  for (int64_t r = 0; r < rows; ++r) {
    const float* pr = probs + r * cols;
    float* dr = dprobs + r * cols;
    const float total = sum_over(cols, [&](int64_t j) { return pr[j]; });
    const int32_t t = targets[r];
    if (!valid_target(t, cols)) continue;
    const float q = pr[t] / total;
    if (q < eps || q > 1.0f - eps) continue;  // clipped: the clamp's derivative is 0
    for (int64_t j = 0; j < cols; ++j) dr[j] += g / total;
    dr[t] -= g / pr[t];
  }
}

void sum_launch(const float* x, int64_t n, float alpha, float* out, cudaStream_t) {
  *out = n == 0 ? 0.0f : alpha * sum_over(n, [&](int64_t i) { return x[i]; });  // the empty sum is 0, whatever alpha
}

void add_2d_launch(float* dst, int64_t dst_pitch, const float* src, int64_t src_pitch, int64_t rows, int64_t cols,
                   cudaStream_t) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[r * dst_pitch + c] += src[r * src_pitch + c];
}

void rmsprop_multi_launch(const OptimSlot* slots, int count, float lr, float rho, float eps, cudaStream_t) {
  for_each_element(slots, count,
                   [&](const OptimSlot& s, int64_t i) { rmsprop_update(&s.w[i], &s.v[i], s.g[i], lr, rho, eps); });
}

void adam_multi_launch(const OptimSlot* slots, int count, float lr_t, float beta1, float beta2, float eps,
                       cudaStream_t) {
  for_each_element(slots, count, [&](const OptimSlot& s, int64_t i) {
    adam_update(&s.w[i], &s.m[i], &s.v[i], s.g[i], lr_t, beta1, beta2, eps);
  });
}

void sum_of_squares_multi_launch(const OptimSlot* slots, int count, float* out, cudaStream_t) {
  double total = 0.0;
  for_each_element(slots, count, [&](const OptimSlot& s, int64_t i) { total += s.g[i] * s.g[i]; });
  *out = static_cast<float>(total);
}

void scale_grads_multi_launch(const OptimSlot* slots, int count, float factor, cudaStream_t) {
  for_each_element(slots, count, [&](const OptimSlot& s, int64_t i) { s.g[i] *= factor; });
}

// ---- pointwise_cuda.h ---------------------------------------------------------------------

void dropout_launch(const float* x, float* y, float* mask, int64_t n, float p, uint64_t seed, uint64_t offset,
                    cudaStream_t) {
  for (int64_t i = 0; i < n; ++i) {
    mask[i] = dropout_scale<float>(seed, offset, static_cast<uint64_t>(i), p);
    y[i] = x[i] * mask[i];  // y may be x
  }
}

void bias_relu_launch(float* y, const float* bias, int64_t rows, int64_t cols, bool relu, cudaStream_t) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) y[r * cols + c] = bias_relu(y[r * cols + c], bias[c], relu);
}

// The host code checks every target first (engine/cuda/softmax_loss.cpp); the kernel would read
// outside the row, so a bad one is an error here.
void softmax_xent_launch(const float* logits, const int32_t* targets, float* row_loss, float* dlogits, int64_t rows,
                         int64_t vocab, float scale, cudaStream_t) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* z = logits + r * vocab;
    const int32_t t = targets[r];
    if (!valid_target(t, vocab))
      throw std::out_of_range("softmax_xent_launch: target " + std::to_string(t) + " of row " + std::to_string(r) +
                              " outside [0, " + std::to_string(vocab) + ")");
    const float m = row_max(z, vocab, -FLT_MAX);
    const float s = sum_over(vocab, [&](int64_t j) { return std::exp(z[j] - m); });
    row_loss[r] = softmax_xent_loss(z[t], m, s);
    for (int64_t j = 0; j < vocab; ++j) dlogits[r * vocab + j] = softmax_xent_grad(z[j], m, s, j == t, scale);
  }
}

void embedding_forward_launch(const float* table, const int32_t* indices, float* out, int64_t count, int64_t width,
                              cudaStream_t) {
  for (int64_t k = 0; k < count; ++k)
    for (int64_t e = 0; e < width; ++e) out[k * width + e] = table[static_cast<int64_t>(indices[k]) * width + e];
}

void embedding_backward_launch(const float* dout, const int32_t* indices, float* dtable, int64_t count, int64_t width,
                               cudaStream_t) {
  for (int64_t k = 0; k < count; ++k)
    for (int64_t e = 0; e < width; ++e) dtable[static_cast<int64_t>(indices[k]) * width + e] += dout[k * width + e];
}

void rmsprop_launch(float* w, float* v, const float* g, int64_t n, float lr, float rho, float eps, cudaStream_t) {
  for (int64_t i = 0; i < n; ++i) rmsprop_update(&w[i], &v[i], g[i], lr, rho, eps);
}

void adam_launch(float* w, float* m, float* v, const float* g, int64_t n, float lr_t, float beta1, float beta2,
                 float eps, cudaStream_t) {
  for (int64_t i = 0; i < n; ++i) adam_update(&w[i], &m[i], &v[i], g[i], lr_t, beta1, beta2, eps);
}

void sum_of_squares_launch(const float* g, int64_t n, float* sum_of_squares, cudaStream_t) {
  *sum_of_squares += sum_over(n, [&](int64_t i) { return g[i] * g[i]; });
}

// ---- lstm_cell_cuda.h ---------------------------------------------------------------------

int cuda_device_count() { return 1; }  // the stand-in is one device

// Element by element; each reads all its inputs before writing (gate_cache may be gates_pre, c may be c_prev).
void lstm_cell_forward_launch(const float* gates_pre, const float* b_ih, const float* b_hh, const float* c_prev,
                              float* gate_cache, float* c, float* h, int batch, int hidden, cudaStream_t) {
  for (int b = 0; b < batch; ++b)
    for (int j = 0; j < hidden; ++j) {
      const size_t idx = static_cast<size_t>(b) * hidden + j, base = gate_base(b, j, hidden);
      const LstmGates<float> a = load_gates(gates_pre + base, hidden), bi = load_gates(b_ih + j, hidden),
                             bh = load_gates(b_hh + j, hidden);
      const LstmGates<float> gates = lstm_cell_forward(a.i + bi.i + bh.i, a.f + bi.f + bh.f, a.g + bi.g + bh.g,
                                                       a.o + bi.o + bh.o, c_prev ? c_prev[idx] : 0.0f, &c[idx], &h[idx]);
      store_gates(gate_cache + base, hidden, gates);
    }
}

// dc_prev may be dc_next: each element reads its carry before writing it.
void lstm_cell_backward_launch(const float* gate_cache, const float* c_prev, const float* c, const float* dh,
                               const float* dy, const float* dc_next, float* dgates, float* dc_prev, int batch,
                               int hidden, cudaStream_t) {
  for (int b = 0; b < batch; ++b)
    for (int j = 0; j < hidden; ++j) {
      const size_t idx = static_cast<size_t>(b) * hidden + j, base = gate_base(b, j, hidden);
      float carry;
      const LstmGates<float> d =
          lstm_cell_backward(load_gates(gate_cache + base, hidden), c_prev ? c_prev[idx] : 0.0f, c[idx],
                             dh[idx] + (dy ? dy[idx] : 0.0f), dc_next ? dc_next[idx] : 0.0f, &carry);
      dc_prev[idx] = carry;
      store_gates(dgates + base, hidden, d);
    }
}

void column_sum_add_launch(const float* m, float* db, int rows, int cols, cudaStream_t) {
  for (int j = 0; j < cols; ++j)
    db[j] += sum_over(rows, [&](int64_t r) { return m[r * cols + j]; });
}

// ---- device_allocator.h: no cache, so a use after release shows under a sanitizer ----------

void* device_allocate(size_t bytes) {
  if (bytes > std::numeric_limits<size_t>::max() - kAlignment)
    throw std::runtime_error("device_allocate: " + std::to_string(bytes) + " bytes is out of range");
  const size_t units = (bytes + kAlignment - 1) / kAlignment;
  void* block = std::aligned_alloc(kAlignment, (units == 0 ? 1 : units) * kAlignment);  // never null for 0 bytes
  if (!block) throw std::runtime_error("device_allocate: out of host memory for " + std::to_string(bytes) + " bytes");
  ++g_system_allocations;
  return block;
}

void device_release(void* block, size_t) { std::free(block); }
void device_release_cache() {}
size_t device_cached_bytes() { return 0; }
size_t device_system_allocations() { return g_system_allocations; }

}  // namespace legato::kernels
