#pragma once
// Matrix products of float32 tensors on the CPU, through oneDNN's matmul. oneDNN picks its kernels
// from the instruction-set features the CPU reports (AVX2, AVX-512, AVX512-BF16, AMX), not from a
// table of CPU models, so no new processor falls back to slow kernels (Debian's OpenBLAS 0.3.21
// runs its SSE3 kernels on an Emerald Rapids Xeon). float64 products stay with Eigen: they serve
// the gradient checks, where speed does not matter.
//
// Precision (engine/precision.h): fp32 (the default) or bf16 — operands rounded to bfloat16,
// products accumulated and written in float32, as PyTorch's CPU autocast does. Every product is
// told its precision by its caller (the op, told by the model that owns it), so two models at
// different precisions run side by side in one process; everything around the products (cell
// state, gradients' accumulation, loss, optimiser, master weights) stays float32. A precision the
// CPU cannot run is refused before it gets here (legato::check_precision).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/precision.h"

namespace legato::cpu {

using legato::Precision;

// Whether this CPU multiplies bf16 natively (neither AVX512-BF16 nor AMX: oneDNN would emulate
// it, slower than fp32); why not, when it does not.
bool bf16_supported(std::string* why = nullptr);

// C [M, N] = op(A) · op(B), or C += op(A) · op(B) with accumulate. Row-major and contiguous:
// A is [M, K] ([K, M] when transpose_a), B is [K, N] ([N, K] when transpose_b). C may not alias
// A or B. Any of M, N, K may be 0. precision: fp32 or bf16 (tf32 is the GPU's; here it is fp32).
void gemm(const float* a, bool transpose_a, const float* b, bool transpose_b, float* c, int64_t m, int64_t n, int64_t k,
          bool accumulate, Precision precision);

// gemm() with either operand's bf16 copy given where the caller keeps one (bf16_bits of every
// element, in the operand's own layout), made once for several products instead of once per
// product: the LSTM keeps its input's, h's and W_ih's from the forward for the backward's. Null:
// rounded here, as gemm() does. Read at bf16 only.
void gemm(const float* a, const uint16_t* a16, bool transpose_a, const float* b, const uint16_t* b16, bool transpose_b,
          float* c, int64_t m, int64_t n, int64_t k, bool accumulate, Precision precision);

// a [count_a] into a16 and b [count_b] into b16 as bf16_bits (count_b 0: a alone), in one parallel
// region when they are large: the copies that gemm()'s callers keep.
void to_bf16(const float* a, uint16_t* a16, int64_t count_a, const float* b = nullptr, uint16_t* b16 = nullptr,
             int64_t count_b = 0);

// An A operand that enters several products in a row, rounded to the products' precision once
// instead of once per product: the LSTM's gate gradients D [T·B, 4H] (13 million elements in
// the seed network) enter three, dW_ih, dW_hh and dx. At fp32 nothing is copied. The source
// must not change while this object is used, and it is made and used on one thread.
class RoundedOperand {
 public:
  RoundedOperand(const float* a, int64_t count, Precision precision);
  // The same operand with its bf16 copy written by the operand's producer as it makes the
  // elements (the LSTM's backward writes each step's gate gradients in float32 and bf16 in one
  // pass, instead of a second pass rounding them): nothing is rounded here. fill() is where the
  // producer writes bf16_bits (engine/cpu/bf16.h) of every element before the first gemm(); null
  // at fp32, where there is nothing to write.
  struct FilledByProducer {};
  RoundedOperand(const float* a, int64_t count, Precision precision, FilledByProducer);
  uint16_t* fill() { return rounded_; }
  ~RoundedOperand();
  RoundedOperand(const RoundedOperand&) = delete;
  RoundedOperand& operator=(const RoundedOperand&) = delete;
  // As gemm(), with A the operand's elements from `offset` on; b16: b's bf16 copy, or null.
  void gemm(int64_t offset, bool transpose_a, const float* b, bool transpose_b, float* c, int64_t m, int64_t n,
            int64_t k, bool accumulate, const uint16_t* b16 = nullptr) const;

 private:
  const float* a_;
  int64_t count_;
  Precision precision_;
  uint16_t* rounded_ = nullptr;  // bf16 copy [count], or null at fp32
  bool lent_ = false;            // rounded_ is the thread's reusable buffer (else own_)
  std::vector<uint16_t> own_;
};

// The B operand of products with a fixed number of rows M, kept in the layout oneDNN's kernel
// for that shape reads (and in bf16 when the precision is bf16), so that a loop of products with
// the same weights — the LSTM's recurrent product at every time step, the generator at every
// token — packs them once instead of at every product. Holds a copy: later changes to the
// source are not seen (make a new one after the optimiser steps).
//
// Threads::One: each product runs on the calling thread alone, for products that every thread
// of a parallel region makes on its own slice of the columns at once (the LSTM's recurrent
// product inside its time loop's one region, engine/ops/lstm.cpp): such an object is made and
// used on one thread, with its own oneDNN stream and scratch memory.
class PackedMatrix {
 public:
  enum class Threads { Team, One };
  // b: [K, N] row-major, or [N, K] when transposed (a weight [out, in] used as x · Wᵀ).
  // accumulate: multiply() adds to c instead of overwriting it. precision: as gemm()'s, kept.
  PackedMatrix(const float* b, bool transposed, int64_t k, int64_t n, int64_t m, bool accumulate, Precision precision,
               Threads threads = Threads::Team);
  ~PackedMatrix();
  PackedMatrix(const PackedMatrix&) = delete;
  PackedMatrix& operator=(const PackedMatrix&) = delete;
  // c [M, N] = a [M, K] · B (or +=); a and c row-major and contiguous, not aliasing. a16: a's
  // bf16 copy where its producer wrote one (bf16_bits of every element; used at bf16, where a is
  // otherwise rounded here), or null.
  void multiply(const float* a, float* c, const uint16_t* a16 = nullptr) const;
  int64_t rows() const { return m_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int64_t m_, n_, k_;
  bool transposed_, accumulate_;
};

// Where the time of the work around the products goes, summed over the process since it started,
// in thread-seconds: `products`, the time inside the products themselves (oneDNN's matmul
// kernels, the outer products of K = 1 and Eigen's products of one column: what the machine's
// peak is measured on), and `preparing`, the time rounding their operands to bf16 and packing
// weights. A product made by the whole OpenMP team counts its time once per thread of the team
// (omp_get_max_threads()); one made by a thread alone inside a parallel region (Threads::One)
// counts its time once. bench_lstm reports both as shares of a training step: the difference of
// two readings over the step's wall time times the team's threads.
struct ProductTimes {
  double products = 0;
  double preparing = 0;
};
ProductTimes product_times();

std::string cpu_model();  // /proc/cpuinfo's model name

// What the products at `precision` run on, for the programs' first line and bench context:
// "oneDNN 2.6.3 brg:avx512_core" (the kernel oneDNN picks for a seed-sized product).
std::string products_description(Precision precision);
// The whole line: "cpu: AMD EPYC 9R14 (avx2, avx512, avx512-bf16), 2 threads, products: oneDNN
// 2.6.3 brg:avx512_core, fp32".
std::string cpu_description(Precision precision);

}  // namespace legato::cpu
