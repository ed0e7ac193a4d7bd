// The products through oneDNN's matmul primitives (see products.h).
#include "engine/cpu/bf16.h"
#include "engine/cpu/eigen_product.h"
#include "engine/cpu/large_pages.h"
#include "engine/cpu/product_clock.h"
#include "engine/cpu/products.h"

#include <omp.h>
#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <sstream>
#include <stdexcept>
#include <tuple>
#include <vector>

namespace legato::cpu {
namespace {

using dnnl::memory;
using Dims = memory::dims;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// One in-order stream: oneDNN's CPU primitives run synchronously on the calling thread's
// OpenMP team, the same pool Eigen's and our pointwise loops use.
dnnl::stream& cpu_stream() {
  static dnnl::stream stream(cpu_engine());
  return stream;
}

memory::data_type operand_type(Precision p) {
  return p == Precision::BF16 ? memory::data_type::bf16 : memory::data_type::f32;
}

// A row-major [rows, cols] matrix, or its transpose seen through strides: a [cols, rows] array
// read as [rows, cols] (dims are the logical ones, strides say where element (i, j) lives).
memory::desc matrix_desc(int64_t rows, int64_t cols, bool transposed, memory::data_type type) {
  return memory::desc(Dims{rows, cols}, type, transposed ? Dims{1, rows} : Dims{cols, 1});
}

// float -> bfloat16 (bf16_bits) of count elements, on the calling thread; inside a parallel
// region's worksharing (shared) its share of them, split as `omp for` splits.
void round_to_bf16(const float* src, uint16_t* dst, int64_t count, bool shared) {
  if (!shared) {
#pragma omp simd
    for (int64_t i = 0; i < count; ++i) dst[i] = bf16_bits(src[i]);
    return;
  }
#pragma omp for simd schedule(static) nowait
  for (int64_t i = 0; i < count; ++i) dst[i] = bf16_bits(src[i]);
}

}  // namespace

// A product's operands to bf16 in one parallel region: a region per operand was two forks and
// joins per product, each waking the other core. Below 2^16 elements in all no region is opened
// (one whose if-clause is false still calls into libgomp); inside a region (the LSTM's one-thread
// products) a nested one runs on this thread alone.
void to_bf16(const float* a, uint16_t* a16, int64_t count_a, const float* b, uint16_t* b16, int64_t count_b) {
  const detail::ProductClock clock(detail::ProductWork::Preparing);
  if (count_a + count_b < (1 << 16)) {
    round_to_bf16(a, a16, count_a, false);
    return round_to_bf16(b, b16, count_b, false);
  }
#pragma omp parallel
  {
    round_to_bf16(a, a16, count_a, true);
    round_to_bf16(b, b16, count_b, true);
  }
}

namespace {

// A buffer per role, reused from product to product (the LSTM's steps all have one shape).
uint16_t* bf16_scratch(int role, int64_t count) {
  thread_local std::vector<uint16_t> buffers[2];
  std::vector<uint16_t>& buffer = buffers[role];
  if (static_cast<int64_t>(buffer.size()) < count) buffer.resize(count);
  return buffer.data();
}

dnnl::primitive_attr accumulate_attr(bool accumulate) {
  dnnl::primitive_attr attr;
  if (accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);  // C = 1 · C + A·B: accumulation in float32, by the kernel itself
    attr.set_post_ops(ops);
  }
  return attr;
}

dnnl::matmul::primitive_desc matmul_desc(const memory::desc& a, const memory::desc& b, const memory::desc& c,
                                         bool accumulate) {
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, b, c), accumulate_attr(accumulate), cpu_engine());
}

// Primitives of the unpacked products, by shape: making one costs tens of microseconds, a
// training step asks for the same few shapes thousands of times.
struct GemmKey {
  int64_t m, n, k;
  bool transpose_a, transpose_b, accumulate;
  Precision precision;
  bool operator<(const GemmKey& o) const {
    return std::tie(m, n, k, transpose_a, transpose_b, accumulate, precision) <
           std::tie(o.m, o.n, o.k, o.transpose_a, o.transpose_b, o.accumulate, o.precision);
  }
};

const dnnl::matmul& gemm_primitive(const GemmKey& key) {
  static std::mutex mutex;
  static std::map<GemmKey, dnnl::matmul> cache;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  if (cache.size() >= 512) cache.clear();  // odd shapes (a last short batch each epoch) stay few
  const memory::data_type type = operand_type(key.precision);
  const auto pd =
      matmul_desc(matrix_desc(key.m, key.k, key.transpose_a, type), matrix_desc(key.k, key.n, key.transpose_b, type),
                  matrix_desc(key.m, key.n, false, memory::data_type::f32), key.accumulate);
  return cache.emplace(key, dnnl::matmul(pd)).first->second;
}

void zero_or_keep(float* c, int64_t count, bool accumulate) {
  if (!accumulate && count > 0) std::memset(c, 0, count * sizeof(float));
}

// C [M, N] (+)= a [M] ⊗ b [N]: a product with K = 1, whichever way its operands are transposed
// (a [M, 1] and [1, M] are the same array, as are b's).
void outer_product(const float* a, const float* b, float* c, int64_t m, int64_t n, bool accumulate) {
  const detail::ProductClock clock(detail::ProductWork::Products);
#pragma omp parallel for schedule(static) if (m * n >= (1 << 16))
  for (int64_t i = 0; i < m; ++i) {
    float* row = c + i * n;
    const float ai = a[i];
    if (accumulate)
      for (int64_t j = 0; j < n; ++j) row[j] += ai * b[j];
    else
      for (int64_t j = 0; j < n; ++j) row[j] = ai * b[j];
  }
}

}  // namespace

bool bf16_supported(std::string* why) {
  // Bits of avx512_core_bf16 (AMX's set contains them): what oneDNN will run, which also
  // follows DNNL_MAX_CPU_ISA when a user caps it.
  const unsigned bf16_bits = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
  const unsigned isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  if ((isa & bf16_bits) == bf16_bits) return true;
  if (why)
    *why = "this CPU has neither AVX512-BF16 nor AMX (" + cpu_model() + "): bf16 would be emulated, slower than fp32";
  return false;
}

void gemm(const float* a, const uint16_t* a16, bool transpose_a, const float* b, const uint16_t* b16, bool transpose_b,
          float* c, int64_t m, int64_t n, int64_t k, bool accumulate, Precision precision) {
  if (m == 0 || n == 0) return;
  if (k == 0) return zero_or_keep(c, m * n, accumulate);
  // Products of no depth or one column (the scalar input's projection and its weight gradient)
  // are bound by memory, not arithmetic: oneDNN's kernels gain nothing there and bf16 would only
  // add the rounding of a 13-million-element operand. They stay float32 at either precision.
  if (k == 1) return outer_product(a, b, c, m, n, accumulate);
  if (n == 1) {
    const detail::ProductClock clock(detail::ProductWork::Products);
    return eigen_product(a, transpose_a, b, transpose_b, c, m, n, k, accumulate);
  }
  const memory::data_type type = operand_type(precision);
  const void* a_data = a;
  const void* b_data = b;
  if (precision == Precision::BF16) {
    // Same layouts, narrower elements: the strides of the descriptors still hold. What the
    // caller has not rounded is rounded here, both operands in one region.
    uint16_t* a_scratch = a16 ? nullptr : bf16_scratch(0, m * k);
    uint16_t* b_scratch = b16 ? nullptr : bf16_scratch(1, k * n);
    if (a_scratch && b_scratch)
      to_bf16(a, a_scratch, m * k, b, b_scratch, k * n);
    else if (a_scratch)
      to_bf16(a, a_scratch, m * k);
    else if (b_scratch)
      to_bf16(b, b_scratch, k * n);
    a_data = a16 ? a16 : a_scratch;
    b_data = b16 ? b16 : b_scratch;
  }
  const dnnl::matmul& product = gemm_primitive({m, n, k, transpose_a, transpose_b, accumulate, precision});
  memory a_mem(matrix_desc(m, k, transpose_a, type), cpu_engine(), const_cast<void*>(a_data));
  memory b_mem(matrix_desc(k, n, transpose_b, type), cpu_engine(), const_cast<void*>(b_data));
  memory c_mem(matrix_desc(m, n, false, memory::data_type::f32), cpu_engine(), c);
  const detail::ProductClock clock(detail::ProductWork::Products);
  product.execute(cpu_stream(), {{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, b_mem}, {DNNL_ARG_DST, c_mem}});
}

void gemm(const float* a, bool transpose_a, const float* b, bool transpose_b, float* c, int64_t m, int64_t n, int64_t k,
          bool accumulate, Precision precision) {
  gemm(a, nullptr, transpose_a, b, nullptr, transpose_b, c, m, n, k, accumulate, precision);
}

namespace {
// One buffer per thread lent to a RoundedOperand at a time and kept for the next (a training
// step rounds gate gradients of one size per layer): its pages are faulted in once, not per step.
struct SpareBuffer {
  std::vector<uint16_t> elements;
  bool lent = false;
};
thread_local SpareBuffer spare;
}  // namespace

RoundedOperand::RoundedOperand(const float* a, int64_t count, Precision precision, FilledByProducer)
    : a_(a), count_(count), precision_(precision) {
  if (precision != Precision::BF16 || count == 0) return;
  std::vector<uint16_t>& buffer = spare.lent ? own_ : spare.elements;
  lent_ = !spare.lent;
  spare.lent = true;
  if (static_cast<int64_t>(buffer.size()) < count) buffer.resize(count);
  rounded_ = buffer.data();
}

RoundedOperand::RoundedOperand(const float* a, int64_t count, Precision precision)
    : RoundedOperand(a, count, precision, FilledByProducer{}) {
  if (rounded_) to_bf16(a, rounded_, count);
}

RoundedOperand::~RoundedOperand() {
  if (lent_) spare.lent = false;
}

void RoundedOperand::gemm(int64_t offset, bool transpose_a, const float* b, bool transpose_b, float* c, int64_t m,
                          int64_t n, int64_t k, bool accumulate, const uint16_t* b16) const {
  if (offset < 0 || offset + m * k > count_)
    throw std::out_of_range("RoundedOperand: a product reads past the operand's elements");
  const uint16_t* a16 = rounded_ ? rounded_ + offset : nullptr;  // made at bf16 only
  cpu::gemm(a_ + offset, a16, transpose_a, b, b16, transpose_b, c, m, n, k, accumulate, precision_);
}

// Made with one thread: omp_get_max_threads() is 1 while a primitive for Threads::One is made,
// so oneDNN divides its work for one thread (inside a parallel region it runs on one anyway),
// and the thread's own stream and scratch memory keep it apart from the other threads' products.
dnnl::matmul::primitive_desc one_thread_matmul(const memory::desc& a, const memory::desc& b, const memory::desc& c,
                                               bool accumulate) {
  dnnl::primitive_attr attr = accumulate_attr(accumulate);
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, cpu_engine());
  omp_set_num_threads(threads);
  return pd;
}

struct PackedMatrix::Impl {
  Precision precision;
  std::vector<float> plain;  // K = 1 or N = 1: a copy as given, for gemm()'s float32 path
  memory::desc a_desc, c_desc;
  dnnl::matmul product;
  std::unique_ptr<dnnl::stream> own_stream;  // Threads::One: this thread's stream and scratch,
  std::unique_ptr<void, void (*)(void*)> scratch_block{nullptr, release_host};  // the latter from the
  memory scratch;  // block cache, as the packed copy: a steady training step faults no pages in
  // The packed copy, in the layout the product's kernel asked for, in our own (huge-page) block:
  // oneDNN's would be faulted in 4 KiB at a time.
  std::unique_ptr<void, void (*)(void*)> block{nullptr, release_host};
  memory weights;
};

PackedMatrix::PackedMatrix(const float* b, bool transposed, int64_t k, int64_t n, int64_t m, bool accumulate,
                           Precision precision, Threads threads)
    : impl_(std::make_unique<Impl>()), m_(m), n_(n), k_(k), transposed_(transposed), accumulate_(accumulate) {
  Impl& s = *impl_;
  s.precision = precision;
  const memory::data_type type = operand_type(s.precision);
  s.a_desc = matrix_desc(m, k, false, type);
  s.c_desc = matrix_desc(m, n, false, memory::data_type::f32);
  if (m == 0 || n == 0 || k == 0) return;  // multiply() does nothing or zeroes c
  if (k == 1 || n == 1) {                  // gemm() keeps these in float32, unpacked
    s.plain.assign(b, b + k * n);
    return;
  }
  const memory::desc weights_any(Dims{k, n}, type, memory::format_tag::any);
  const bool one = threads == Threads::One;
  const auto pd = one ? one_thread_matmul(s.a_desc, weights_any, s.c_desc, accumulate)
                      : matmul_desc(s.a_desc, weights_any, s.c_desc, accumulate);
  s.product = dnnl::matmul(pd);
  if (one) {
    s.own_stream = std::make_unique<dnnl::stream>(cpu_engine());
    s.scratch_block.reset(allocate_host(std::max<size_t>(pd.scratchpad_desc().get_size(), 64)));
    s.scratch = memory(pd.scratchpad_desc(), cpu_engine(), s.scratch_block.get());
  }
  s.block.reset(allocate_host(pd.weights_desc().get_size()));
  s.weights = memory(pd.weights_desc(), cpu_engine(), s.block.get());
  memory user(matrix_desc(k, n, transposed, memory::data_type::f32), cpu_engine(), const_cast<float*>(b));
  const detail::ProductClock clock(detail::ProductWork::Preparing);
  dnnl::stream& stream = s.own_stream ? *s.own_stream : cpu_stream();
  dnnl::reorder(user, s.weights).execute(stream, user, s.weights);  // pack (and round to bf16)
}

PackedMatrix::~PackedMatrix() = default;

void PackedMatrix::multiply(const float* a, float* c, const uint16_t* a16) const {
  if (m_ == 0 || n_ == 0) return;
  if (k_ == 0) return zero_or_keep(c, m_ * n_, accumulate_);
  const Impl& s = *impl_;
  if (!s.plain.empty()) return gemm(a, false, s.plain.data(), transposed_, c, m_, n_, k_, accumulate_, s.precision);
  const void* a_data = a;
  if (s.precision == Precision::BF16) {
    if (!a16) {
      uint16_t* scratch = bf16_scratch(0, m_ * k_);
      to_bf16(a, scratch, m_ * k_);
      a16 = scratch;
    }
    a_data = a16;
  }
  memory a_mem(s.a_desc, cpu_engine(), const_cast<void*>(a_data));
  memory c_mem(s.c_desc, cpu_engine(), c);
  const detail::ProductClock clock(detail::ProductWork::Products);
  if (!s.own_stream)
    return s.product.execute(cpu_stream(),
                             {{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, s.weights}, {DNNL_ARG_DST, c_mem}});
  s.product.execute(
      *s.own_stream,
      {{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, s.weights}, {DNNL_ARG_DST, c_mem}, {DNNL_ARG_SCRATCHPAD, s.scratch}});
}

std::string products_description(Precision precision) {
  const dnnl_version_t* version = dnnl::version();
  const memory::data_type type = operand_type(precision);
  const auto pd = matmul_desc(memory::desc(Dims{64, 512}, type, memory::format_tag::ab),
                              memory::desc(Dims{512, 2048}, type, memory::format_tag::any),
                              memory::desc(Dims{64, 2048}, memory::data_type::f32, memory::format_tag::ab), false);
  std::ostringstream out;
  out << "oneDNN " << version->major << '.' << version->minor << '.' << version->patch << ' ' << pd.impl_info_str();
  return out.str();
}

}  // namespace legato::cpu
