// The fused LSTM on the CPU. Products go through detail::gemm (oneDNN for float32), with the
// recurrent weights packed once per sequence and direction; the per-element cell arithmetic is
// kernels/lstm.h, the same code the CUDA kernels run. Where a step is large enough to split
// across threads, each direction's time loop is one OpenMP region in which every thread makes
// its own units' slice of the recurrent product and their cells, with one barrier per step
// (forward_steps_one_region, backward_steps_one_region): bit for bit the per-step regions' result.
// Its threads' slices of W_hh are kept while W_hh stays as it is, in passes that record no graph,
// and an exception on one of its threads is rethrown after it (engine/ops/lstm_region.h).
#include "engine/ops/lstm.h"

#include <omp.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "engine/autograd.h"
#include "engine/cpu/bf16.h"
#include "engine/cpu/products.h"
#include "engine/dispatch.h"
#include "engine/eigen_maps.h"
#include "engine/ops/checks.h"
#include "engine/ops/gemm.h"
#include "engine/ops/lstm_cells.h"
#include "engine/ops/lstm_region.h"
#include "engine/ops/packed_weights.h"
#include "kernels/lstm.h"

namespace legato::ops {
namespace {

// Weights and states must match x in dtype and device; the op then runs where x lives.
void check_weights(const char* op, const LstmWeights& w, const Tensor& x) {
  const DType dtype = x.dtype();
  const Tensor* all[] = {&w.w_ih, &w.w_hh, &w.b_ih, &w.b_hh};
  const char* names[] = {"W_ih", "W_hh", "b_ih", "b_hh"};
  for (int k = 0; k < 4; ++k) {
    if (!all[k]->defined()) throw std::invalid_argument(std::string(op) + ": " + names[k] + " is undefined");
    detail::check_same_device(op, x, "x", *all[k], names[k]);
    if (all[k]->dtype() != dtype)
      throw std::invalid_argument(std::string(op) + ": " + names[k] + " is " + all[k]->describe() +
                                  " but the input is " + to_string(dtype));
  }
  detail::check_ndim(op, w.w_hh, "W_hh", 2);
  detail::check_ndim(op, w.w_ih, "W_ih", 2);
  const int64_t h = w.w_hh.dim(1);
  if (w.w_hh.dim(0) != 4 * h || w.w_ih.dim(0) != 4 * h || w.b_ih.shape() != Shape{4 * h} ||
      w.b_hh.shape() != Shape{4 * h})
    throw std::invalid_argument(std::string(op) + ": inconsistent weights W_ih " + w.w_ih.describe() + ", W_hh " +
                                w.w_hh.describe() + ", b_ih " + w.b_ih.describe() + ", b_hh " + w.b_hh.describe() +
                                " (expected [4H, I], [4H, H], [4H], [4H])");
}

void check_state(const char* op, const Tensor& s, const char* name, int64_t batch, int64_t hidden, const Tensor& x) {
  if (!s.defined()) return;
  detail::check_same_device(op, x, "x", s, name);
  const DType dtype = x.dtype();
  if (s.shape() != Shape{batch, hidden} || s.dtype() != dtype)
    throw std::invalid_argument(std::string(op) + ": " + name + " is " + s.describe() + " but expected " +
                                to_string(dtype) + " " + to_string(Shape{batch, hidden}));
}

// Whether T's products run in bf16 (float32 at the bf16 precision): the cells then also write
// the next products' operands in bf16.
template <class T>
bool bf16_products(Precision precision) {
  return std::is_same_v<T, float> && precision == Precision::BF16;
}

// The bf16 copies that the forward makes for its products and keeps for the backward's, so that
// each operand is rounded once per training step, not once per product: x [T·B, I] (the input
// projection's A, dW_ih's B), W_ih [4H, I] (the projection's B, dX's B) and hs [T, B, H] (h_t of
// every step, written by the cells as they make h_t: the next step's recurrent product reads it,
// dW_hh reads them all). Null where the products are not bf16, and x and W_ih also where the input
// has one element (products of depth or width 1 stay float32: products_onednn.cpp).
struct Bf16Copies {
  std::shared_ptr<uint16_t> x, w_ih, hs;
  static std::shared_ptr<uint16_t> block(int64_t count) { return detail::bf16_block(count); }
};

// The cells of one step, in 512-bit vectors where their bf16 copies are written (bf16 products:
// lstm_cells_wide.cpp), else as compiled here.
template <class T>
void step_forward(T* gates, const T* bias, const T* c_prev, T* c, T* h, uint16_t* h16, int64_t batch, int64_t hidden) {
  if constexpr (std::is_same_v<T, float>)
    if (h16) return cell_forward_wide(gates, bias, c_prev, c, h, h16, batch, hidden);
  cell_forward(gates, bias, c_prev, c, h, h16, batch, hidden);
}
template <class T>
void step_backward(const T* cache, const T* c_prev, const T* c, const T* dh, const T* gy, T* dc, T* dgates,
                   uint16_t* dgates16, int64_t batch, int64_t hidden) {
  if constexpr (std::is_same_v<T, float>)
    if (dgates16) return cell_backward_wide(cache, c_prev, c, dh, gy, dc, dgates, dgates16, batch, hidden);
  cell_backward(cache, c_prev, c, dh, gy, dc, dgates, dgates16, batch, hidden);
}

// step_forward and step_backward made by one thread of the time-loop region on its units [u0, u1)
// (lstm_cells.h's _units forms); rec [B, 4·(u1 − u0)] or null: the thread's recurrent product.
void step_forward_units(float* gates, const float* rec, const float* bias, const float* c_prev, float* c, float* h,
                        uint16_t* h16, int64_t batch, int64_t hidden, int64_t u0, int64_t u1) {
  if (h16) return cell_forward_units_wide(gates, rec, bias, c_prev, c, h, h16, batch, hidden, u0, u1);
  cell_forward_units(gates, rec, bias, c_prev, c, h, h16, batch, hidden, u0, u1);
}
void step_backward_units(const float* cache, const float* c_prev, const float* c, const float* dh, int64_t dh_stride,
                         const float* gy, float* dc, float* dgates, uint16_t* dgates16, int64_t batch, int64_t hidden,
                         int64_t u0, int64_t u1) {
  if (dgates16)
    return cell_backward_units_wide(cache, c_prev, c, dh, dh_stride, gy, dc, dgates, dgates16, batch, hidden, u0, u1);
  cell_backward_units(cache, c_prev, c, dh, dh_stride, gy, dc, dgates, dgates16, batch, hidden, u0, u1);
}

// Whether a sequence's time loop runs as one parallel region (forward_steps_one_region,
// backward_steps_one_region): float32 at either precision, steps large enough to split, more than
// one thread, and not inside a parallel region already. Otherwise each step opens its own
// regions (the product's and the cells').
template <class T>
bool one_region(int64_t batch, int64_t hidden) {
  return std::is_same_v<T, float> && batch * hidden >= kParallelElements && omp_get_max_threads() > 1 &&
         !omp_in_parallel();
}

// The hidden units [u0, u1) that thread `thread` of `threads` owns in a time-loop region: whole
// blocks of 16 (a 512-bit vector of float32), so that each thread's cells run in whole vectors.
std::pair<int64_t, int64_t> unit_slice(int64_t hidden, int threads, int thread) {
  const int64_t blocks = (hidden + 15) / 16;
  return {std::min(hidden, 16 * (blocks * thread / threads)), std::min(hidden, 16 * (blocks * (thread + 1) / threads))};
}

// The calling thread's slice of the recurrent product [B, 4·units] or [B, units], kept from
// sequence to sequence so that its pages are faulted in once.
float* rec_buffer(int64_t count) {
  thread_local std::vector<float> buffer;
  if (static_cast<int64_t>(buffer.size()) < count) buffer.resize(count);
  return buffer.data();
}

// An element of a row the bias sums read, as T: T itself, or bf16 bits (GateGradients).
template <class T>
T element_value(T x) {
  return x;
}
template <class T>
T element_value(uint16_t bits) {
  return cpu::bf16_value(bits);
}

// The bias gradient: the column sums of the gate gradients D [T·B, 4H] over every step and
// batch row, made while the backward makes D's rows (the last step's first), so that each block
// of rows is summed while it is still in cache instead of D being read back from memory after the
// loop (52 MB per layer in the seed network). Rows go in blocks of a fixed number: each block is
// summed over its rows in order once the backward has made all of them, then add_to() adds the
// blocks' sums in order: the same result whatever the number of threads.
template <class T>
class GateGradientSums {
 public:
  static constexpr int64_t kBlockRows = 256;
  GateGradientSums(int64_t rows, int64_t cols)
      : rows_(rows),
        cols_(cols),
        next_block_((rows + kBlockRows - 1) / kBlockRows),
        partial_(static_cast<size_t>(next_block_ * cols), T(0)) {}
  // The backward is about to make rows [first, rows): the blocks [first block, end) that are then
  // whole, to be summed by sum_block() once they are made (each once: they count as summed).
  std::pair<int64_t, int64_t> whole_from(int64_t first) {
    const int64_t end = next_block_;
    while (next_block_ > 0 && (next_block_ - 1) * kBlockRows >= first) --next_block_;
    return {next_block_, end};
  }
  void add_to(T* out) const {  // out [cols] += the sums
    for (int64_t k = 0; k * cols_ < static_cast<int64_t>(partial_.size()); ++k)
#pragma omp simd
      for (int64_t j = 0; j < cols_; ++j) out[j] += partial_[k * cols_ + j];
  }
  // Block k's sums, its columns split across the threads of the caller's parallel region (the
  // backward's step, after its cells), each column summed over the block's rows in order. row(r):
  // where row r's cols elements are.
  template <class Row>
  void sum_block(int64_t k, Row row) {
    constexpr int64_t kColumns = 256;  // per task: 1 KiB of sums
#pragma omp for schedule(static)
    for (int64_t j0 = 0; j0 < cols_; j0 += kColumns) sum_block_columns(k, row, j0, std::min(cols_, j0 + kColumns));
  }
  // Block k's sums of columns [j0, j1) only, on the calling thread (a thread of the time-loop
  // region sums the columns its cells made): each column over the block's rows in order, as
  // sum_block() sums it.
  template <class Row>
  void sum_block_columns(int64_t k, Row row, int64_t j0, int64_t j1) {
    const int64_t first = k * kBlockRows, last = std::min(rows_, first + kBlockRows);
    T* sum = partial_.data() + k * cols_;
    for (int64_t r = first; r < last; ++r) {
      const auto* m = row(r);  // T, or bf16 bits (GateGradients)
#pragma omp simd
      for (int64_t j = j0; j < j1; ++j) sum[j] += element_value<T>(m[j]);
    }
  }

 private:
  int64_t rows_, cols_, next_block_;  // blocks from next_block_ on are summed
  std::vector<T> partial_;            // [blocks, cols]: each block's sums
};

}  // namespace

LstmOutputs sequence_outputs(const Tensor& hs, const Tensor& cs, bool last_only) {
  const int64_t steps = hs.dim(0), batch = hs.dim(1), hidden = hs.dim(2);
  LstmOutputs out;
  const Tensor last_h = hs.rows(steps - 1, 1).view({batch, hidden});
  out.y = last_only ? last_h.detach() : hs.detach();
  out.h_n = last_h.detach();
  out.c_n = cs.rows(steps - 1, 1).view({batch, hidden});
  return out;
}

namespace {

// forward_sequence's time loop as one parallel region: each thread owns the units unit_slice()
// gives it; at every step it makes its slice of the recurrent product (the four gates' rows of
// W_hh for its units, packed by the thread and kept while W_hh stays as it is: lstm_region.h)
// and then its cells on the same units, with no barrier between the two (they touch only its
// units), and waits once per step for the whole h_t, the next step's operand: one region and T
// barriers instead of 2T regions. w_hh [4H, H]; bias [4H] (b_ih + b_hh); P [T, B, 4H]: the input
// projections in, the activated gates out (in bf16 at bf16: lstm_cells.h, GatePair); h0, c0
// [B, H] or null (zeros); hs, cs [T, B, H] out; h16 [T, B, H] or null (bf16 products): h_t of
// every step in bf16 (Bf16Copies::hs); kept: whether the slices are kept for the next call (no
// graph recorded: SlicesLease). What a thread throws is rethrown here after the region
// (RegionFailure).
void forward_steps_one_region(const Tensor& w_hh, const float* bias, float* P, const float* h0, const float* c0,
                              float* hs, float* cs, uint16_t* h16, int64_t steps, int64_t batch, int64_t hidden,
                              Precision precision, bool kept) {
  const int64_t G = 4 * hidden;
  const int threads = omp_get_max_threads();
  detail::SlicesLease lease(w_hh, false, batch, precision, threads, kept);
  detail::RegionFailure failure;
#pragma omp parallel num_threads(threads)
  {
    const int thread = omp_get_thread_num();
    const auto [u0, u1] = unit_slice(hidden, omp_get_num_threads(), thread);
    const int64_t units = u1 - u0;
    const cpu::PackedMatrix* recurrent = nullptr;  // rec [B, 4·units] = h_{t-1} [B, H] · w [4·units, H]ᵀ
    failure.run([&] {
      detail::region_checkpoint(detail::RegionPoint::Packing, false, thread, 0);
      if (units > 0) recurrent = &lease.slices().slice(thread, u0, u1);
    });
    float* rec = rec_buffer(batch * 4 * units);
    for (int64_t t = 0; t < steps; ++t) {
      failure.run([&] {
        detail::region_checkpoint(detail::RegionPoint::Step, false, thread, t);
        if (units == 0) return;
        const float* h_prev = t > 0 ? hs + (t - 1) * batch * hidden : h0;
        const float* c_prev = t > 0 ? cs + (t - 1) * batch * hidden : c0;
        uint16_t* h16_now = h16 ? h16 + t * batch * hidden : nullptr;
        const uint16_t* h16_prev = h16 && t > 0 ? h16 + (t - 1) * batch * hidden : nullptr;
        if (h_prev) recurrent->multiply(h_prev, rec, h16_prev);
        step_forward_units(P + t * batch * G, h_prev ? rec : nullptr, bias, c_prev, cs + t * batch * hidden,
                           hs + t * batch * hidden, h16_now, batch, hidden, u0, u1);
      });
#pragma omp barrier
    }
    lease.done(thread);
  }
  failure.rethrow();
  lease.keep();
}

// The forward pass over every step into gate_cache [T, B, 4H] (the activated gates; at bf16 in
// bf16, two to a float's place: lstm_cells.h, GatePair), hs and cs [T, B, H] (h_t and c_t of
// every step); bias [G] receives b_ih + b_hh. h0 and c0 may be undefined (zeros). recording:
// whether a backward (and then a change of the weights) follows. rounded: the bf16 copies made
// here, for the backward (Bf16Copies).
template <class T>
void forward_sequence(const Tensor& x, const Tensor& h0, const Tensor& c0, const LstmWeights& w, Precision precision,
                      bool recording, Tensor& bias, Tensor& gate_cache, Tensor& hs, Tensor& cs, Bf16Copies& rounded) {
  const int64_t steps = x.dim(0), batch = x.dim(1), input = x.dim(2), hidden = w.hidden(), G = 4 * hidden;
  as_array<T>(bias) = as_array<T>(w.b_ih) + as_array<T>(w.b_hh);
  T* P = gate_cache.data<T>();
  if (bf16_products<T>(precision)) {
    rounded.hs = Bf16Copies::block(steps * batch * hidden);  // written by the cells
    if (input > 1) {
      rounded.x = Bf16Copies::block(steps * batch * input);
      rounded.w_ih = Bf16Copies::block(G * input);
      cpu::to_bf16(x.data<float>(), rounded.x.get(), steps * batch * input, w.w_ih.data<float>(), rounded.w_ih.get(),
                   G * input);
    }
  }
  // The input projection of all T steps: one GEMM, P [T·B, 4H] = X [T·B, I] · W_ihᵀ.
  detail::gemm(x.data<T>(), rounded.x.get(), false, w.w_ih.data<T>(), rounded.w_ih.get(), true, P, steps * batch, G,
               input, false, precision);
  uint16_t* h16 = rounded.hs.get();  // [T, B, H] or null
  if constexpr (std::is_same_v<T, float>)
    if (one_region<T>(batch, hidden))
      return forward_steps_one_region(w.w_hh, bias.data<T>(), P, h0.defined() ? h0.data<T>() : nullptr,
                                      c0.defined() ? c0.data<T>() : nullptr, hs.data<T>(), cs.data<T>(), h16, steps,
                                      batch, hidden, precision, !recording);
  // W_hhᵀ packed once for the whole sequence, and kept while W_hh stays as it is:
  // P_t [B, 4H] += h_{t-1} [B, H] · W_hhᵀ.
  const auto recurrent = detail::packed_weights<T>(w.w_hh, true, hidden, G, batch, true, precision);
  for (int64_t t = 0; t < steps; ++t) {
    T* Pt = P + t * batch * G;
    const T* h_prev = t > 0 ? hs.data<T>() + (t - 1) * batch * hidden : (h0.defined() ? h0.data<T>() : nullptr);
    const T* c_prev = t > 0 ? cs.data<T>() + (t - 1) * batch * hidden : (c0.defined() ? c0.data<T>() : nullptr);
    uint16_t* h16_now = h16 ? h16 + t * batch * hidden : nullptr;
    const uint16_t* h16_prev = h16 && t > 0 ? h16 + (t - 1) * batch * hidden : nullptr;
    if (h_prev) recurrent->multiply(h_prev, Pt, h16_prev);
    step_forward(Pt, bias.data<T>(), c_prev, cs.data<T>() + t * batch * hidden, hs.data<T>() + t * batch * hidden,
                 h16_now, batch, hidden);
  }
}

// What the backward keeps of the forward: its inputs, weights, gate cache [T, B, 4H] and states
// hs and cs [T, B, H].
struct LstmSaved {
  Tensor x, h0, c0;
  LstmWeights w;
  Tensor gate_cache, hs, cs;
  bool last_only;
  Precision precision;  // of the forward's products, and so of the backward's
  Bf16Copies rounded;   // the forward's bf16 copies of x, W_ih and hs
};

// The gate gradients D [T·B, 4H] that the backward's cells write, and the rows the bias
// gradient's block sums (GateGradientSums) read: D's float32 elements, or, where no product reads
// them (at bf16 the products read the cells' bf16 copy D16), that copy alone: the cells then
// write no float32 element of D (52 MB per layer in the seed network, and half their stores), and
// the bias gradient sums the bf16 values that the weight gradients' products read too.
template <class T>
class GateGradients {
 public:
  // D [T, B, 4H]; D16 [T, B, 4H] or null: its bf16 copy; bf16_only: whether D16 alone is written.
  GateGradients(Tensor D, uint16_t* D16, bool bf16_only)
      : D_(D.data<T>()), D16_(D16), step_(D.dim(1) * D.dim(2)), gates_(D.dim(2)), bf16_only_(bf16_only) {}
  T* step(int64_t t) const { return D_ + t * step_; }                              // [B, 4H], unwritten where bf16_only
  T* cells(int64_t t) const { return bf16_only_ ? nullptr : step(t); }             // the cells' float32 rows, or null
  uint16_t* step16(int64_t t) const { return D16_ ? D16_ + t * step_ : nullptr; }  // [B, 4H] or null
  // f(row), row(r) giving row r [4H] as the bias sums read it: float32, or bf16 where bf16_only.
  template <class F>
  void with_rows(F f) const {
    if (bf16_only_) return f([this](int64_t r) -> const uint16_t* { return D16_ + r * gates_; });
    f([this](int64_t r) -> const T* { return D_ + r * gates_; });
  }

 private:
  T* D_;
  uint16_t* D16_;
  int64_t step_, gates_;
  bool bf16_only_;
};

// Whether D's float32 elements stay unread by its products: at bf16, which reads the cells' bf16
// copy, unless a product has a dimension of 1 (those stay float32: products_onednn.cpp).
template <class T>
bool products_read_only_bf16(Precision precision, int64_t batch, int64_t input, int64_t hidden) {
  return bf16_products<T>(precision) && batch > 1 && input > 1 && hidden > 1;
}

// The weight gradients as large GEMMs over all steps at once, from D (d: its float32 elements
// and bf16 copy) and the forward's bf16 copies, after the backward's loop. A gradient buffer on
// its first use (fresh) is written by its first product (beta = 0) instead of zeroed and added to,
// except the weights' at bf16: there oneDNN sums their long K (T·B rows) in another order when
// the product has no sum post-op (the trainer's tiny bf16 run moved), so they keep their zeros
// and a run's numbers stay as they were.
template <class T>
void weight_gradients(const LstmSaved& s, const detail::RoundedOperand<T>& d) {
  const int64_t steps = s.x.dim(0), batch = s.x.dim(1), input = s.x.dim(2), hidden = s.w.hidden(), G = 4 * hidden;
  const bool weights_fresh = !bf16_products<T>(s.precision);
  const auto buffer = [](const Tensor& x, bool allowed, bool* fresh) {
    *fresh = false;
    return allowed ? grad_buffer(x, fresh) : grad_buffer(x);
  };
  bool fresh = false;
  if (Tensor g = buffer(s.w.w_ih, weights_fresh, &fresh); g.defined())  // dW_ih [4H, I] (+)= Dᵀ X
    d.gemm(0, true, s.x.data<T>(), false, g.data<T>(), G, input, steps * batch, !fresh, s.rounded.x.get());
  if (Tensor g = buffer(s.w.w_hh, weights_fresh, &fresh); g.defined()) {  // dW_hh [4H, H] (+)= Σ_t dgates_tᵀ h_{t-1}
    d.gemm(batch * G, true, s.hs.data<T>(), false, g.data<T>(), G, hidden, (steps - 1) * batch, !fresh,
           s.rounded.hs.get());
    if (s.h0.defined()) d.gemm(0, true, s.h0.data<T>(), false, g.data<T>(), G, hidden, batch, true);
  }
  if (Tensor g = grad_buffer(s.x, &fresh); g.defined())  // dX [T·B, I] (+)= D W_ih
    d.gemm(0, false, s.w.w_ih.data<T>(), false, g.data<T>(), steps * batch, input, G, !fresh, s.rounded.w_ih.get());
}

// What the backward does after its time loop: the weight gradients, the biases' and h0's and c0's.
template <class T>
void backward_after_steps(const LstmSaved& s, const detail::RoundedOperand<T>& d, const GateGradientSums<T>& bias_sums,
                          const Tensor& dh, const Tensor& dc) {
  const int64_t G = 4 * s.w.hidden();
  weight_gradients(s, d);
  if (s.w.b_ih.requires_grad() || s.w.b_hh.requires_grad()) {
    // Both biases enter every gate sum once: they share one gradient, summed once.
    Tensor db = Tensor::zeros({G}, s.x.dtype());
    bias_sums.add_to(db.data<T>());
    for (const Tensor* b : {&s.w.b_ih, &s.w.b_hh})
      if (Tensor g = grad_buffer(*b); g.defined()) as_array<T>(g) += as_array<T>(db);
  }
  if (Tensor g = grad_buffer(s.h0); g.defined()) as_array<T>(g) += as_array<T>(dh);
  if (Tensor g = grad_buffer(s.c0); g.defined()) as_array<T>(g) += as_array<T>(dc);
}

// gy_t [B, H]: the gradient reaching y_t, given gy [T, B, H] (or [B, H] when last_only), or null
// where none reaches it.
template <class T>
const T* gy_step(const LstmSaved& s, const Tensor& gy, int64_t t) {
  const int64_t steps = s.x.dim(0), size = s.x.dim(1) * s.w.hidden();
  if (!gy.defined()) return nullptr;
  if (!s.last_only) return gy.data<T>() + t * size;
  return t == steps - 1 ? gy.data<T>() : nullptr;
}

// c_{t-1} [B, H], or null (zeros) before the first step when c0 is undefined.
template <class T>
const T* c_prev_step(const LstmSaved& s, int64_t t) {
  const int64_t size = s.x.dim(1) * s.w.hidden();
  return t > 0 ? s.cs.data<T>() + (t - 1) * size : (s.c0.defined() ? s.c0.data<T>() : nullptr);
}

// One thread's part of backward_steps_one_region's step t before its barrier, on its units
// [u0, u1): the cells, reading the gradient reaching h_t at dh + b · dh_stride for row b (the
// thread's slice of the recurrent product, or the carried dh's columns) with gy_t's added, then the
// bias sums of its units' columns in the blocks (whole_from's pair) that the step completes. dc
// [B, H].
void backward_step_units(const LstmSaved& s, const GateGradients<float>& D, GateGradientSums<float>& bias_sums,
                         std::pair<int64_t, int64_t> blocks, const float* gy_t, const float* c_prev, const float* dh,
                         int64_t dh_stride, float* dc, int64_t t, int64_t u0, int64_t u1) {
  const int64_t batch = s.x.dim(1), hidden = s.w.hidden(), G = 4 * hidden;
  if (u1 == u0) return;
  step_backward_units(s.gate_cache.data<float>() + t * batch * G, c_prev, s.cs.data<float>() + t * batch * hidden, dh,
                      dh_stride, gy_t, dc, D.cells(t), D.step16(t), batch, hidden, u0, u1);
  D.with_rows([&](auto row) {
    for (int64_t k = blocks.second - 1; k >= blocks.first; --k)
      for (int64_t g = 0; g < 4; ++g) bias_sums.sum_block_columns(k, row, g * hidden + u0, g * hidden + u1);
  });
}

// backward_sequence's time loop as one parallel region, as forward_steps_one_region's: each
// thread makes its units' cells, then the bias sums of its units' columns in the blocks the step
// completes (no barrier: they are the columns its cells made), waits once per step for the whole
// dgates_t (its slice of the recurrent product needs every gate's gradient), and makes its units'
// slice of dh = dgates_t · W_hh (W_hh's columns for its units, packed by the thread and kept while
// W_hh stays as it is, on one thread), which its next cells read where it lies, with no barrier
// between. dh [B, H]: carried in, and out where h0 takes a gradient (dh0); dc [B, H]: carried in
// and out. What a thread throws is rethrown here after the region.
void backward_steps_one_region(const LstmSaved& s, const Tensor& gy, float* dh, float* dc,
                               const GateGradients<float>& D, GateGradientSums<float>& bias_sums) {
  const int64_t steps = s.x.dim(0), batch = s.x.dim(1), hidden = s.w.hidden();
  // Per step, found once here rather than by each thread at each step: the bias sums' blocks it
  // completes, gy_t and c_{t-1}.
  std::vector<std::pair<int64_t, int64_t>> blocks(steps);
  std::vector<const float*> gy_at(steps), c_prev_at(steps);
  for (int64_t t = steps - 1; t >= 0; --t) {
    blocks[t] = bias_sums.whole_from(t * batch);
    gy_at[t] = gy_step<float>(s, gy, t);
    c_prev_at[t] = c_prev_step<float>(s, t);
  }
  const int threads = omp_get_max_threads();
  // Not kept: the optimiser changes W_hh after every backward.
  detail::SlicesLease lease(s.w.w_hh, true, batch, s.precision, threads, false);
  detail::RegionFailure failure;
#pragma omp parallel num_threads(threads)
  {
    const int thread = omp_get_thread_num();
    const auto [u0, u1] = unit_slice(hidden, omp_get_num_threads(), thread);
    const int64_t units = u1 - u0;
    // rec [B, units] = dgates_t [B, 4H] · w [4H, units]: the gradient reaching h_{t-1} at its units,
    // which its next cells read where it lies (dh's columns are written once, after the last
    // step): a product into a slice of dh's columns (rows H apart) would run oneDNN's slower
    // jit:gemm kernel, which sums in another order than the whole product's brgemm.
    const cpu::PackedMatrix* recurrent = nullptr;
    failure.run([&] {
      detail::region_checkpoint(detail::RegionPoint::Packing, true, thread, steps - 1);
      if (units > 0) recurrent = &lease.slices().slice(thread, u0, u1);
    });
    float* rec = rec_buffer(batch * units);
    for (int64_t t = steps - 1; t >= 0; --t) {
      failure.run([&] {
        detail::region_checkpoint(detail::RegionPoint::Step, true, thread, t);
        const bool carried = t == steps - 1;  // dh as it came in, else the last step's product
        backward_step_units(s, D, bias_sums, blocks[t], gy_at[t], c_prev_at[t], carried ? dh + u0 : rec,
                            carried ? hidden : units, dc, t, u0, u1);
      });
#pragma omp barrier
      failure.run([&] {
        if (units == 0 || (t == 0 && !s.h0.requires_grad())) return;
        recurrent->multiply(D.step(t), rec, D.step16(t));
        if (t == 0)  // dh0's gradient, in dh
          for (int64_t b = 0; b < batch; ++b) std::copy(rec + b * units, rec + (b + 1) * units, dh + b * hidden + u0);
      });
    }
    lease.done(thread);
  }
  failure.rethrow();
  lease.keep();
}

// The backward pass (BPTT, the last step first) given the gradients reaching y [T, B, H] (or
// [B, H] when last_only), h_n and c_n [B, H], each perhaps undefined.
template <class T>
void backward_sequence(const LstmSaved& s, const Tensor& gy, const Tensor& gh_n, const Tensor& gc_n) {
  const int64_t steps = s.x.dim(0), batch = s.x.dim(1), input = s.x.dim(2), hidden = s.w.hidden(), G = 4 * hidden;
  Tensor dh = Tensor::zeros({batch, hidden}, s.x.dtype());  // gradient reaching h_t
  Tensor dc = Tensor::zeros({batch, hidden}, s.x.dtype());  // carry of the cell state
  if (gh_n.defined()) as_array<T>(dh) += as_array<T>(gh_n);
  if (gc_n.defined()) as_array<T>(dc) += as_array<T>(gc_n);
  // D enters the recurrent product at each step and three weight products after the loop; at
  // bf16 the cells write its bf16 copy as they go (D16), and its float32 elements only where a
  // product reads them (GateGradients).
  const Tensor dgates = Tensor::empty({steps, batch, G}, s.x.dtype());  // D [T, B, 4H]
  detail::RoundedOperand<T> d(dgates.data<T>(), steps * batch * G, s.precision,
                              cpu::RoundedOperand::FilledByProducer{});
  // The forward kept the gate cache in bf16 exactly when its products ran in bf16; the cells
  // read it so only with D16 (cell_backward_row), which the same precision gives.
  if (bf16_products<T>(s.precision) && !d.fill())
    throw std::logic_error("lstm backward: a bf16 gate cache without the gate gradients' bf16 copy");
  const GateGradients<T> D(dgates, d.fill(), products_read_only_bf16<T>(s.precision, batch, input, hidden));
  GateGradientSums<T> bias_sums(steps * batch, G);
  if constexpr (std::is_same_v<T, float>)
    if (one_region<T>(batch, hidden)) {
      backward_steps_one_region(s, gy, dh.data<T>(), dc.data<T>(), D, bias_sums);
      return backward_after_steps(s, d, bias_sums, dh, dc);
    }
  // W_hh packed once for the whole backward pass (and kept while it stays as it is):
  // dh [B, H] = dgates_t [B, 4H] · W_hh.
  const auto recurrent = detail::packed_weights<T>(s.w.w_hh, false, G, hidden, batch, false, s.precision);
  for (int64_t t = steps - 1; t >= 0; --t) {
    const T* gy_t = gy_step<T>(s, gy, t);  // added to dh by the cells that read it
    uint16_t* dg16 = D.step16(t);
    // The step's cells, then the bias sums of the blocks they complete, in one parallel region.
    const std::pair<int64_t, int64_t> blocks = bias_sums.whole_from(t * batch);
#pragma omp parallel if (batch * hidden >= kParallelElements)
    {
      step_backward(s.gate_cache.data<T>() + t * batch * G, c_prev_step<T>(s, t), s.cs.data<T>() + t * batch * hidden,
                    dh.data<T>(), gy_t, dc.data<T>(), D.cells(t), dg16, batch, hidden);
      D.with_rows([&](auto row) {
        for (int64_t k = blocks.second - 1; k >= blocks.first; --k) bias_sums.sum_block(k, row);
      });
    }
    if (t > 0 || s.h0.requires_grad()) recurrent->multiply(D.step(t), dh.data<T>(), dg16);
  }
  backward_after_steps(s, d, bias_sums, dh, dc);
}

}  // namespace

LstmOutputs lstm(const Tensor& x, const Tensor& h0, const Tensor& c0, const LstmWeights& w, bool last_only,
                 Precision precision) {
  const char* op = "lstm";
  if (!x.defined()) throw std::invalid_argument("lstm: x is undefined");
  detail::check_ndim(op, x, "x", 3);
  check_weights(op, w, x);
  const int64_t steps = x.dim(0), batch = x.dim(1), input = x.dim(2), hidden = w.hidden(), G = 4 * hidden;
  if (w.input() != input)
    throw std::invalid_argument("lstm: x is " + x.describe() + " but W_ih is " + w.w_ih.describe() +
                                ", which expects input size " + std::to_string(w.input()));
  if (steps == 0) throw std::invalid_argument("lstm: x has no time steps: " + x.describe());
  check_state(op, h0, "h0", batch, hidden, x);
  check_state(op, c0, "c0", batch, hidden, x);
  LEGATO_ROUTE_TO_CUDA(x, cuda_ops::lstm(x, h0, c0, w, last_only, precision));

  // gate_cache [T, B, 4H]: pre-activations, then (in place) the activated gates i, f, g, o (at
  // bf16 in bf16, two to a float's place: lstm_cells.h, GatePair).
  Tensor gate_cache = Tensor::empty({steps, batch, G}, x.dtype());
  Tensor hs = Tensor::empty({steps, batch, hidden}, x.dtype());  // h_t for every step
  Tensor cs = Tensor::empty({steps, batch, hidden}, x.dtype());  // c_t for every step
  Tensor bias = Tensor::empty({G}, x.dtype());                   // b_ih + b_hh
  const bool recording = needs_grad({x, h0, c0, w.w_ih, w.w_hh, w.b_ih, w.b_hh});
  Bf16Copies rounded;
  dispatch_float(x.dtype(), op, [&](auto tag) {
    forward_sequence<decltype(tag)>(x, h0, c0, w, precision, recording, bias, gate_cache, hs, cs, rounded);
  });

  const LstmOutputs out = sequence_outputs(hs, cs, last_only);

  const LstmSaved saved{x, h0, c0, w, gate_cache, hs, cs, last_only, precision, rounded};
  record(op, {x, h0, c0, w.w_ih, w.w_hh, w.b_ih, w.b_hh}, {out.y, out.h_n, out.c_n},
         [saved](const std::vector<Tensor>& grads) {
           dispatch_float(saved.x.dtype(), "lstm",
                          [&](auto tag) { backward_sequence<decltype(tag)>(saved, grads[0], grads[1], grads[2]); });
         });
  return out;
}

struct LstmStepWeights::Packed {
  // x [B, I] · W_ihᵀ and h [B, H] · W_hhᵀ (added to the first)
  Packed(const LstmWeights& w, int64_t batch, Precision precision)
      : input(w.w_ih.data<float>(), true, w.input(), 4 * w.hidden(), batch, false, precision),
        recurrent(w.w_hh.data<float>(), true, w.hidden(), 4 * w.hidden(), batch, true, precision) {}
  detail::PackedOperand<float> input, recurrent;
};

LstmStepWeights::LstmStepWeights(const LstmWeights& w, int64_t batch, Precision precision)
    : weights_(w), batch_(batch), precision_(precision) {
  check_weights("lstm_step", w, w.w_ih);
  if (w.w_ih.device() != Device::CPU || w.w_ih.dtype() != DType::F32) return;
  packed_ = std::make_shared<const Packed>(w, batch, precision);
}

LstmStepWeights::~LstmStepWeights() = default;

void lstm_step(const Tensor& x, Tensor& h, Tensor& c, const LstmWeights& w, Tensor& gates, Precision precision) {
  if (!x.defined()) throw std::invalid_argument("lstm_step: x is undefined");
  lstm_step(x, h, c, LstmStepWeights(w, x.ndim() == 2 ? x.dim(0) : 0, precision), gates);
}

void lstm_step(const Tensor& x, Tensor& h, Tensor& c, const LstmStepWeights& sw, Tensor& gates) {
  const LstmWeights& w = sw.weights();
  const char* op = "lstm_step";
  if (!x.defined()) throw std::invalid_argument("lstm_step: x is undefined");
  detail::check_ndim(op, x, "x", 2);
  check_weights(op, w, x);
  const int64_t batch = x.dim(0), hidden = w.hidden(), G = 4 * hidden;
  if (x.dim(1) != w.input())
    throw std::invalid_argument("lstm_step: x is " + x.describe() + " but W_ih is " + w.w_ih.describe());
  if (batch != sw.batch())
    throw std::invalid_argument("lstm_step: x is " + x.describe() + " but the weights were made ready for batch " +
                                std::to_string(sw.batch()));
  if (!h.defined() || !c.defined()) throw std::invalid_argument("lstm_step: the state h and c must be given");
  check_state(op, h, "h", batch, hidden, x);
  check_state(op, c, "c", batch, hidden, x);
  if (gates.shape() != Shape{batch, G} || gates.dtype() != x.dtype())
    throw std::invalid_argument("lstm_step: gates scratch is " + gates.describe() + ", expected " +
                                to_string(Shape{batch, G}));
  detail::check_same_device(op, x, "x", gates, "gates");
  LEGATO_ROUTE_TO_CUDA(x, cuda_ops::lstm_step(x, h, c, w, gates, sw.precision()));
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    T* P = gates.data<T>();  // [B, 4H] = x W_ihᵀ + h W_hhᵀ
    if constexpr (std::is_same_v<T, float>) {
      sw.packed()->input.multiply(x.data<float>(), P);
      sw.packed()->recurrent.multiply(h.data<float>(), P);
    } else {
      detail::gemm(x.data<T>(), false, w.w_ih.data<T>(), true, P, batch, G, w.input(), false, sw.precision());
      detail::gemm(h.data<T>(), false, w.w_hh.data<T>(), true, P, batch, G, hidden, true, sw.precision());
    }
    as_matrix<T>(gates, batch).rowwise() += as_matrix<T>(w.b_hh, 1).row(0);
    // cell_forward adds b_ih; c is read (as c_prev) and written element by element in place.
    cell_forward(P, w.b_ih.data<T>(), c.data<T>(), c.data<T>(), h.data<T>(), nullptr, batch, hidden);
  });
}

}  // namespace legato::ops
