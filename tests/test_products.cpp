// The CPU products (engine/cpu/products.h): every transpose and accumulate case against a float64
// reference, the packed operand, bf16 within the bound its 8-bit significand gives, and the seed
// network's gradients in bf16 against float64 (training in bf16: test_trainer_bf16.cpp).
#include <doctest/doctest.h>
#include <omp.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/autograd.h"
#include "engine/cpu/bf16.h"
#include "engine/cpu/large_pages.h"
#include "engine/cpu/products.h"
#include "engine/ops.h"
#include "engine/precision.h"
#include "model/generator.h"
#include "model/music_lstm.h"

using namespace legato;

namespace {

// bf16 keeps 8 significant bits: rounding to nearest moves a value by at most u = 2^-8 of it.
constexpr double kBf16Unit = 1.0 / 256;

// Whether the products can run in bf16 on this CPU; where not, the test says so and checks
// nothing in bf16.
bool bf16_here() { return cpu::bf16_supported(); }
constexpr Precision kFp32 = Precision::FP32, kBf16 = Precision::BF16;

struct Product {
  std::vector<float> a, b, c;                // A [M, K] or [K, M]; B [K, N] or [N, K]; C [M, N] (holds C0 first)
  std::vector<double> reference, magnitude;  // C0 (when accumulating) + op(A) op(B), and Σ|a||b| per element
};

// Values in [-1, 1] from a fixed sequence, C0 included when accumulating.
Product make_product(int64_t m, int64_t n, int64_t k, bool ta, bool tb, bool accumulate, uint64_t seed) {
  Product p;
  const std::vector<double> a = Tensor::uniform({m * k}, -1, 1, seed).to_vector();
  const std::vector<double> b = Tensor::uniform({k * n}, -1, 1, seed + 1).to_vector();
  const std::vector<double> c = Tensor::uniform({m * n}, -1, 1, seed + 2).to_vector();
  p.a.assign(a.begin(), a.end());
  p.b.assign(b.begin(), b.end());
  p.c.assign(c.begin(), c.end());
  p.reference.assign(m * n, 0.0);
  p.magnitude.assign(m * n, 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double sum = accumulate ? double(p.c[i * n + j]) : 0.0, size = 0;
      for (int64_t l = 0; l < k; ++l) {
        const double x = p.a[ta ? l * m + i : i * k + l], y = p.b[tb ? j * k + l : l * n + j];
        sum += x * y;
        size += std::abs(x * y);
      }
      p.reference[i * n + j] = sum;
      p.magnitude[i * n + j] = size;
    }
  return p;
}

// The largest error as a fraction of the bound atol + rel · Σ|a||b| (above 1 fails).
double worst_fraction(const std::vector<float>& c, const Product& p, double atol, double rel) {
  double worst = 0;
  for (size_t i = 0; i < c.size(); ++i)
    worst = std::max(worst, std::abs(c[i] - p.reference[i]) / (atol + rel * p.magnitude[i]));
  return worst;
}

}  // namespace

TEST_CASE("products: every transpose and accumulate case, odd sizes, against float64") {
  // fp32 products of K terms: each rounding moves a partial sum by at most 2^-24 of Σ|a||b|.
  // K = 1 (an outer product) and N = 1 (a matrix-vector product) take their own paths.
  for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{37, 29, 53}, {300, 260, 1}, {37, 1, 530}})
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (bool accumulate : {false, true}) {
          CAPTURE(m);
          CAPTURE(n);
          CAPTURE(k);
          CAPTURE(ta);
          CAPTURE(tb);
          CAPTURE(accumulate);
          Product p = make_product(m, n, k, ta, tb, accumulate, 5);
          cpu::gemm(p.a.data(), ta, p.b.data(), tb, p.c.data(), m, n, k, accumulate, kFp32);
          CHECK(worst_fraction(p.c, p, 1e-6, (k + 2) * std::ldexp(1.0, -24)) <= 1.0);
        }
}

TEST_CASE("products: with no depth (K = 1) or one column (N = 1), bf16 keeps float32's accuracy") {
  // Memory-bound products gain nothing from bf16 and are computed in float32 at either precision.
  if (!bf16_here()) MESSAGE("SKIPPED: this CPU has no bf16");
  const Precision precision = bf16_here() ? kBf16 : kFp32;
  for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{300, 260, 1}, {37, 1, 530}})
    for (bool accumulate : {false, true}) {
      CAPTURE(k);
      Product p = make_product(m, n, k, true, false, accumulate, 7);
      cpu::gemm(p.a.data(), true, p.b.data(), false, p.c.data(), m, n, k, accumulate, precision);
      CHECK(worst_fraction(p.c, p, 1e-6, (k + 2) * std::ldexp(1.0, -24)) <= 1.0);
    }
}

TEST_CASE("products: empty shapes: nothing to do, or C zeroed when K is 0") {
  std::vector<float> a(6, 1.0f), b(6, 1.0f), c(4, 7.0f);
  cpu::gemm(a.data(), false, b.data(), false, c.data(), 0, 2, 3, false, kFp32);  // no rows
  cpu::gemm(a.data(), false, b.data(), false, c.data(), 2, 0, 3, false, kFp32);  // no columns
  CHECK(c == std::vector<float>(4, 7.0f));
  cpu::gemm(a.data(), false, b.data(), false, c.data(), 2, 2, 0, true, kFp32);  // + an empty sum
  CHECK(c == std::vector<float>(4, 7.0f));
  cpu::gemm(a.data(), false, b.data(), false, c.data(), 2, 2, 0, false, kFp32);  // = an empty sum
  CHECK(c == std::vector<float>(4, 0.0f));
}

TEST_CASE("products: a packed operand gives the unpacked product and keeps its own copy") {
  // K = 1 and N = 1 keep a plain copy for gemm()'s float32 path.
  for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{3, 70, 45}, {3, 70, 1}, {3, 1, 45}})
    for (bool tb : {false, true})
      for (bool accumulate : {false, true}) {
        CAPTURE(n);
        CAPTURE(k);
        CAPTURE(tb);
        CAPTURE(accumulate);
        Product p = make_product(m, n, k, false, tb, accumulate, 9);
        const cpu::PackedMatrix packed(p.b.data(), tb, k, n, m, accumulate, kFp32);
        std::fill(p.b.begin(), p.b.end(), 1e6f);  // later changes to the source are not seen
        std::vector<float> c = p.c;
        packed.multiply(p.a.data(), c.data());
        CHECK(worst_fraction(c, p, 1e-6, (k + 2) * std::ldexp(1.0, -24)) <= 1.0);
        packed.multiply(p.a.data(), c.data());  // again: accumulating adds a second product
        if (accumulate) CHECK(worst_fraction(c, p, 1e-6, (k + 2) * std::ldexp(1.0, -24)) > 1.0);
      }
}

// The LSTM's time-loop region (engine/ops/lstm.cpp) has each of two threads multiply by its own
// packed half of B's columns (Threads::One) at once: together they must give the whole product
// made by the team, bit for bit, at the seed network's recurrent shapes (forward: K = H = 512,
// N = 4H; backward: K = 4H, N = H), or fp32 training would change with the thread count.
TEST_CASE("products: halves of B's columns made by two threads at once give the team's product bit for bit") {
  std::vector<Precision> precisions{kFp32};
  if (bf16_here()) precisions.push_back(kBf16);
  for (const Precision precision : precisions)
    for (auto [m, k, n] : {std::tuple<int64_t, int64_t, int64_t>{64, 512, 2048}, {64, 2048, 512}, {64, 272, 544}}) {
      CAPTURE(k);
      CAPTURE(precision == kFp32);
      const Product p = make_product(m, n, k, false, false, false, 11);
      std::vector<float> whole(m * n), halves(m * n);
      cpu::PackedMatrix(p.b.data(), false, k, n, m, false, precision).multiply(p.a.data(), whole.data());
#pragma omp parallel num_threads(2)
      {
        const int64_t n0 = omp_get_thread_num() * n / 2, n1 = (omp_get_thread_num() + 1) * n / 2, w = n1 - n0;
        std::vector<float> b(k * w), c(m * w);  // [K, w]: B's columns [n0, n1); c [M, w]
        for (int64_t i = 0; i < k; ++i) std::copy(&p.b[i * n + n0], &p.b[i * n + n1], &b[i * w]);
        cpu::PackedMatrix(b.data(), false, k, w, m, false, precision, cpu::PackedMatrix::Threads::One)
            .multiply(p.a.data(), c.data());
        for (int64_t i = 0; i < m; ++i) std::copy(&c[i * w], &c[(i + 1) * w], &halves[i * n + n0]);
      }
      int64_t differ = 0;
      for (int64_t i = 0; i < m * n; ++i) differ += whole[i] != halves[i];
      CHECK(differ == 0);
    }
}

TEST_CASE("products: bf16 stays within the bound of its 8-bit significand, and is really bf16") {
  if (!bf16_here()) {
    MESSAGE("SKIPPED bf16 products: " << [] {
      std::string why;
      cpu::bf16_supported(&why);
      return why;
    }());
    return;
  }
  // Each operand rounded to bf16 moves by at most u of itself, so each term a·b by at most
  // (2u + u²)|a·b|; the float32 sum adds at most K · 2^-24 of Σ|a||b|.
  const int64_t m = 64, n = 96, k = 512;
  const double bound = 2 * kBf16Unit + kBf16Unit * kBf16Unit + (k + 2) * std::ldexp(1.0, -24);
  for (bool tb : {false, true}) {
    Product p = make_product(m, n, k, false, tb, true, 13);
    std::vector<float> c = p.c;
    cpu::gemm(p.a.data(), false, p.b.data(), tb, c.data(), m, n, k, true, kBf16);
    CHECK(worst_fraction(c, p, 1e-6, bound) <= 1.0);
    // Rounded operands leave errors far above float32's: the bf16 kernels did run.
    CHECK(worst_fraction(c, p, 1e-6, (k + 2) * std::ldexp(1.0, -24)) > 1.0);
    const cpu::PackedMatrix packed(p.b.data(), tb, k, n, m, false, kBf16);
    std::vector<float> d(m * n);
    packed.multiply(p.a.data(), d.data());
    for (size_t i = 0; i < d.size(); ++i) d[i] += p.c[i];
    CHECK(worst_fraction(d, p, 1e-6, bound + std::ldexp(1.0, -22)) <= 1.0);
  }
}

TEST_CASE("products: one precision for either device, refused with a reason where it cannot run") {
  CHECK(parse_precision("bf16") == Precision::BF16);
  CHECK(parse_precision("tf32") == Precision::TF32);
  CHECK(to_string(Precision::FP32) == "fp32");
  CHECK(!parse_precision("fp16"));
  // fp32 runs everywhere; tf32 only on the GPU; bf16 only on a CPU that multiplies it natively.
  CHECK(precision_problem(Precision::FP32, Device::CPU).empty());
  CHECK(precision_problem(Precision::FP32, Device::CUDA).empty());
  CHECK(precision_problem(Precision::TF32, Device::CUDA).empty());
  CHECK(precision_problem(Precision::TF32, Device::CPU).rfind("tf32", 0) == 0);
  CHECK(precision_problem(Precision::BF16, Device::CUDA).find("no bf16") != std::string::npos);
  CHECK_THROWS_AS(check_precision(Precision::TF32, Device::CPU), std::invalid_argument);
  CHECK_NOTHROW(check_precision(Precision::TF32, Device::CUDA));  // whether a GPU is there is --device's question
  std::string why;
  const bool bf16 = cpu::bf16_supported(&why);
  CHECK(precision_problem(Precision::BF16, Device::CPU) == (bf16 ? "" : why));
  if (!bf16) {
    CHECK(why.find("bf16") != std::string::npos);  // the CPU lacks it, or the build lacks oneDNN
    CHECK_THROWS_AS(check_precision(Precision::BF16, Device::CPU), std::invalid_argument);
  }
  // The engine's reasons are one line each and name no program's flag (the programs add theirs).
  for (Precision p : {Precision::TF32, Precision::BF16})
    for (Device d : {Device::CPU, Device::CUDA}) {
      const std::string problem = precision_problem(p, d);
      CHECK(problem.find("--") == std::string::npos);
      CHECK(problem.find('\n') == std::string::npos);
    }
  CHECK(cpu::cpu_description(kFp32).rfind("cpu: ", 0) == 0);
  CHECK(cpu::cpu_description(kFp32).find("products: ") != std::string::npos);
  CHECK(cpu::cpu_description(kFp32).find(", fp32") != std::string::npos);  // the line names the precision asked
}

TEST_CASE("bf16: the seed network's gradients within a bf16-derived bound of float64") {
  if (!bf16_here()) {
    MESSAGE("SKIPPED bf16 gradients: this CPU has no bf16 products");
    return;
  }
  model::ModelConfig config;  // the seed network: scalar input, 3 × LSTM(512), Dense(256), Dense(V)
  config.vocab = 279;
  config.hidden = 512;
  config.layers = 3;
  config.dense = 256;
  config.dropout = 0;  // the same function in both precisions
  config.dtype = DType::F64;
  const model::MusicLSTM exact(config);
  config.dtype = DType::F32;
  model::MusicLSTM rounded(config, nn::Init::Uninitialised);
  rounded.set_precision(kBf16);
  const nn::ParameterList p64 = exact.parameters(), p32 = rounded.parameters();
  for (size_t i = 0; i < p64.size(); ++i) Tensor(p32[i].tensor).copy_from(p64[i].tensor);

  const int64_t steps = 12, batch = 4;
  std::vector<int32_t> tokens(steps * batch), targets(batch);
  for (int64_t i = 0; i < steps * batch; ++i) tokens[i] = static_cast<int32_t>((i * 37) % config.vocab);
  for (int64_t b = 0; b < batch; ++b) targets[b] = static_cast<int32_t>((b * 101 + 5) % config.vocab);
  const Tensor x = Tensor::from_indices({steps, batch}, tokens), t = Tensor::from_indices({batch}, targets);
  for (const model::MusicLSTM* net : {&exact, static_cast<const model::MusicLSTM*>(&rounded)}) {
    model::DropoutStream unused;
    ops::cross_entropy_logits(net->forward(x, true, false, unused), t).backward();
  }
  // A gradient is a chain of products: 5 forward (3 LSTM layers, 2 dense) and as many back. Each
  // product's operands are rounded once (2u relative to |a||b|), so to first order the error is
  // at most 10 · 2u = 20u of the gradient's size. The LSTM keeps its gate cache in bf16 as well
  // (engine/ops/lstm_cells.h: GatePair), one rounding of each gate between a layer's forward and
  // backward: measured, the LSTM's gradients are off by about 1.6u with it (1.0u with the gates in
  // float32), the dense layers' by 1.1u, the last bias far less.
  const double bound = 20 * kBf16Unit;
  double largest = 0;
  for (size_t i = 0; i < p64.size(); ++i) {
    const std::vector<double> g64 = p64[i].tensor.grad().to_vector(), g32 = p32[i].tensor.grad().to_vector();
    double diff = 0, size = 0;
    for (size_t j = 0; j < g64.size(); ++j) {
      diff += (g32[j] - g64[j]) * (g32[j] - g64[j]);
      size += g64[j] * g64[j];
    }
    CAPTURE(p64[i].name);
    const double relative = std::sqrt(diff / std::max(size, 1e-300));
    CAPTURE(relative);
    CHECK(relative <= bound);
    largest = std::max(largest, relative);
  }
  CHECK(largest > 1e-3);  // far above fp32's error (about 1e-6): the products were bf16
}

TEST_CASE("bf16: the LSTM's bias gradient, summed in blocks from the cells' bf16 gate gradients, is whole") {
  if (!bf16_here()) {
    MESSAGE("SKIPPED bf16 bias gradient: this CPU has no bf16 products");
    return;
  }
  // At bf16 the backward's cells write the gate gradients in bf16 only, and the bias gradient is
  // summed from those rows over blocks of 256 rows as the steps complete them
  // (engine/ops/lstm.cpp: GateGradients, GateGradientSums). B = 7 does not divide 256: the block
  // from row 1280 begins on a step's last row and spans ceil(256 / 7) + 1 = 38 steps; a row summed
  // before its step made it, or twice, or not at all, would be summed wrong.
  const int64_t steps = 230, batch = 7, input = 2, hidden = 4;
  const ops::LstmWeights w{Tensor::uniform({4 * hidden, input}, -0.5, 0.5, 41).set_requires_grad(true),
                           Tensor::uniform({4 * hidden, hidden}, -0.5, 0.5, 42).set_requires_grad(true),
                           Tensor::uniform({4 * hidden}, -0.5, 0.5, 43).set_requires_grad(true),
                           Tensor::uniform({4 * hidden}, -0.5, 0.5, 44).set_requires_grad(true)};
  // Every input 1: each column of dW_ih = Dᵀ X is the bias gradient's sum again, made by a bf16
  // product from the same bf16 values of D, so the two agree to float32's rounding of the sums
  // (measured: exactly); a row of the 1610 missed or summed twice is off by far more.
  const Tensor x = Tensor::full({steps, batch, input}, 1.0);
  ops::lstm(x, Tensor(), Tensor(), w, false, kBf16).y.backward(Tensor::uniform({steps, batch, hidden}, -1, 1, 45));
  const std::vector<double> db = w.b_ih.grad().to_vector(), dw = w.w_ih.grad().to_vector();
  for (int64_t column = 0; column < input; ++column) {
    double diff = 0, size = 0;
    for (int64_t g = 0; g < 4 * hidden; ++g) {
      diff += (dw[g * input + column] - db[g]) * (dw[g * input + column] - db[g]);
      size += db[g] * db[g];
    }
    const double relative = std::sqrt(diff / size);
    CAPTURE(column);
    CAPTURE(relative);
    CHECK(relative <= 1e-5);
  }
  CHECK(db == w.b_hh.grad().to_vector());
}

TEST_CASE("products: a linear layer made ready for one row gives linear()'s result in float64") {
  const int64_t in = 45, out = 70;
  const Tensor w = Tensor::uniform({out, in}, -1, 1, 21), b = Tensor::uniform({out}, -1, 1, 22);
  const Tensor x = Tensor::uniform({1, in}, -1, 1, 23);
  const std::vector<double> reference = ops::linear(x.to(DType::F64), w.to(DType::F64), b.to(DType::F64)).to_vector();
  for (bool with_bias : {true, false}) {
    CAPTURE(with_bias);
    const ops::LinearStepWeights step(w, with_bias ? b : Tensor(), 1);
    const std::vector<double> y = step(x).to_vector();
    REQUIRE(y.size() == reference.size());
    const std::vector<double> bias = b.to_vector();
    for (size_t j = 0; j < y.size(); ++j)  // fp32: (in + 2) roundings of at most 2^-24 of Σ|x||w| <= in
      CHECK(std::abs(y[j] - (reference[j] - (with_bias ? 0 : bias[j]))) <= 1e-6 + (in + 2) * in * std::ldexp(1.0, -24));
  }
  const ops::LinearStepWeights step(w, b, 1);
  CHECK_THROWS_AS(step(Tensor::zeros({2, in})), std::invalid_argument);  // made ready for one row
  CHECK_THROWS_AS(step(Tensor::zeros({1, in + 1})), std::invalid_argument);
  // float64 is not packed: the same layer, computed by linear().
  const ops::LinearStepWeights step64(w.to(DType::F64), b.to(DType::F64), 1);
  CHECK(step64(x.to(DType::F64)).to_vector() == reference);
}

TEST_CASE("host memory: blocks from 2 MiB up are aligned to 2 MiB (for huge pages), smaller ones to 64 bytes") {
  for (size_t bytes : {size_t{100}, size_t{4096}, size_t{2} << 20, (size_t{3} << 20) + 5}) {
    CAPTURE(bytes);
    void* block = cpu::allocate_host(bytes);
    const auto address = reinterpret_cast<uintptr_t>(block);
    CHECK(address % 64 == 0);
    if (bytes >= (size_t{2} << 20)) CHECK(address % (size_t{2} << 20) == 0);
    static_cast<char*>(block)[bytes - 1] = 1;  // the whole size is usable (ASan checks it)
    cpu::release_host(block);
  }
}

TEST_CASE("products: an operand rounded once gives gemm()'s products bit for bit, from any offset, two at a time") {
  const int64_t m = 37, n = 29, k = 45, offset = 3 * k, count = offset + m * k;
  const std::vector<double> values = Tensor::uniform({2 * count}, -1, 1, 31).to_vector();
  const std::vector<float> first(values.begin(), values.begin() + count), second(values.begin() + count, values.end());
  const std::vector<double> b64 = Tensor::uniform({k * n}, -1, 1, 32).to_vector();
  const std::vector<float> b(b64.begin(), b64.end());
  for (bool bf16 : {false, true}) {
    if (bf16 && !bf16_here()) continue;
    const Precision precision = bf16 ? kBf16 : kFp32;
    for (bool ta : {false, true}) {
      CAPTURE(bf16);
      CAPTURE(ta);
      // Two alive at once: the first has the thread's reusable buffer, the second its own.
      const cpu::RoundedOperand one(first.data(), count, precision), two(second.data(), count, precision);
      for (int64_t from : {int64_t{0}, offset}) {
        for (const auto& [rounded, source] : {std::pair{&one, &first}, std::pair{&two, &second}}) {
          std::vector<float> expected(m * n, 0.5f), got(m * n, 0.5f);
          cpu::gemm(source->data() + from, ta, b.data(), false, expected.data(), m, n, k, true, precision);
          rounded->gemm(from, ta, b.data(), false, got.data(), m, n, k, true);
          CHECK(got == expected);
        }
      }
      std::vector<float> c(m * n);
      CHECK_THROWS_AS(one.gemm(offset + 1, ta, b.data(), false, c.data(), m, n, k, false), std::out_of_range);
    }
  }
}

// The copies a caller keeps (the LSTM's x, W_ih and h from its forward) give the product it would
// round itself, bit for bit; and at bf16 they are what is read: a copy of another matrix than
// the float32 one beside it gives that other matrix's product.
TEST_CASE("products: bf16 copies kept by the caller give gemm()'s products, and are what bf16 reads") {
  const int64_t m = 40, n = 33, k = 48, offset = 2 * k, count = offset + m * k;
  const auto floats = [](int64_t size, uint64_t seed) {
    const std::vector<double> v = Tensor::uniform({size}, -1, 1, seed).to_vector();
    return std::vector<float>(v.begin(), v.end());
  };
  const std::vector<float> a = floats(count, 41), b = floats(k * n, 42), other = floats(k * n, 43);
  std::vector<uint16_t> a16(count), b16(k * n), other16(k * n);
  cpu::to_bf16(a.data(), a16.data(), count, b.data(), b16.data(), k * n);
  cpu::to_bf16(other.data(), other16.data(), k * n);
  for (bool bf16 : {false, true}) {
    if (bf16 && !bf16_here()) continue;
    const Precision precision = bf16 ? kBf16 : kFp32;
    for (bool tb : {false, true}) {
      CAPTURE(bf16);
      CAPTURE(tb);
      std::vector<float> expected(m * n, 0.5f), both(m * n, 0.5f), only_b(m * n, 0.5f), from_rounded(m * n, 0.5f);
      cpu::gemm(a.data() + offset, false, b.data(), tb, expected.data(), m, n, k, true, precision);
      cpu::gemm(a.data() + offset, a16.data() + offset, false, b.data(), b16.data(), tb, both.data(), m, n, k, true,
                precision);
      cpu::gemm(a.data() + offset, nullptr, false, b.data(), b16.data(), tb, only_b.data(), m, n, k, true, precision);
      const cpu::RoundedOperand rounded(a.data(), count, precision);
      rounded.gemm(offset, false, b.data(), tb, from_rounded.data(), m, n, k, true, b16.data());
      CHECK(both == expected);
      CHECK(only_b == expected);
      CHECK(from_rounded == expected);
      if (!bf16) continue;
      std::vector<float> of_other(m * n), read(m * n);
      cpu::gemm(a.data(), false, other.data(), tb, of_other.data(), m, n, k, false, precision);
      cpu::gemm(a.data(), a16.data(), false, b.data(), other16.data(), tb, read.data(), m, n, k, false, precision);
      CHECK(read == of_other);
    }
  }
}

// matmul rounds its operands once at bf16 and its backward reads those copies and G's: what it
// writes must be the products gemm() makes from the float32 tensors, bit for bit, and a
// gradient buffer used a second time must add, not be overwritten.
TEST_CASE("products: matmul's gradients are gemm()'s products bit for bit, and a second backward adds") {
  const int64_t m = 37, n = 29, k = 45;
  for (bool bf16 : {false, true}) {
    if (bf16 && !bf16_here()) continue;
    const Precision precision = bf16 ? kBf16 : kFp32;
    for (auto [ta, tb] : {std::pair{false, false}, {false, true}, {true, false}, {true, true}}) {
      CAPTURE(bf16);
      CAPTURE(ta);
      CAPTURE(tb);
      Tensor a = Tensor::uniform(ta ? Shape{k, m} : Shape{m, k}, -1, 1, 51).set_requires_grad(true);
      Tensor b = Tensor::uniform(tb ? Shape{n, k} : Shape{k, n}, -1, 1, 52).set_requires_grad(true);
      const Tensor g = Tensor::uniform({m, n}, -1, 1, 53);
      ops::matmul(a, b, ta, tb, precision).backward(g);
      const float *A = a.data<float>(), *B = b.data<float>(), *G = g.data<float>();
      std::vector<float> da(m * k, 0.0f), db(k * n, 0.0f), out(m * n, 0.0f), expected_out(m * n);
      if (!ta)  // dA [m, k] = G op(B)^T, else dA [k, m] = op(B) G^T
        cpu::gemm(G, false, B, !tb, da.data(), m, k, n, true, precision);
      else
        cpu::gemm(B, tb, G, true, da.data(), k, m, n, true, precision);
      if (!tb)  // dB [k, n] = op(A)^T G, else dB [n, k] = G^T op(A)
        cpu::gemm(A, !ta, G, false, db.data(), k, n, m, true, precision);
      else
        cpu::gemm(G, true, A, ta, db.data(), n, k, m, true, precision);
      const std::vector<double> da_once(da.begin(), da.end()), db_once(db.begin(), db.end());
      CHECK(a.grad().to_vector() == da_once);
      CHECK(b.grad().to_vector() == db_once);
      // The forward's own product from the same copies.
      cpu::gemm(A, ta, B, tb, expected_out.data(), m, n, k, false, precision);
      const std::vector<double> expected(expected_out.begin(), expected_out.end());
      CHECK(ops::matmul(a, b, ta, tb, precision).to_vector() == expected);
      ops::matmul(a, b, ta, tb, precision).backward(g);  // adds the same gradients again: exactly twice
      std::vector<double> da_twice = da_once, db_twice = db_once;
      for (double& v : da_twice) v *= 2;
      for (double& v : db_twice) v *= 2;
      CHECK(a.grad().to_vector() == da_twice);
      CHECK(b.grad().to_vector() == db_twice);
    }
  }
}

TEST_CASE("products: both operands rounded in one pass give the product of their bf16 values") {
  if (!bf16_here()) return;
  // The bf16 product must be the float64 product of both operands' bf16 values up to float32's
  // summation, (k + 2) 2^-24 of Σ|a||b|: every element of both rounded, none lost or misplaced
  // between the threads (an element left unrounded or stale is off by up to 2^-8 of itself, far
  // more). Shapes below 2^16 elements in all, over it with each operand below, and each over it.
  const auto bf16_value = [](float x) { return double(std::bit_cast<float>(uint32_t{cpu::bf16_bits(x)} << 16)); };
  for (const auto& [m, n, k] : {std::tuple{64, 100, 300}, std::tuple{128, 100, 300}, std::tuple{256, 300, 256}}) {
    CAPTURE(m);
    const std::vector<double> a64 = Tensor::uniform({m * k}, -1, 1, 70 + m).to_vector();
    const std::vector<double> b64 = Tensor::uniform({k * n}, -1, 1, 80 + m).to_vector();  // [n, k]
    const std::vector<float> a(a64.begin(), a64.end()), b(b64.begin(), b64.end());
    std::vector<float> got(m * n);
    cpu::gemm(a.data(), false, b.data(), true, got.data(), m, n, k, false, kBf16);
    int64_t wrong = 0;
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double exact = 0, size = 0;
        for (int l = 0; l < k; ++l) {
          const double term = bf16_value(a[i * k + l]) * bf16_value(b[j * k + l]);
          exact += term;
          size += std::abs(term);
        }
        wrong += std::abs(got[i * n + j] - exact) > (k + 2) * std::ldexp(1.0, -24) * size;
      }
    CHECK(wrong == 0);
  }
}

namespace {

// The largest |got - exact| over the largest |exact|: float32's products stay near 1e-6, bf16's
// near 1e-2.
double relative_error(const std::vector<double>& got, const std::vector<double>& exact) {
  REQUIRE(got.size() == exact.size());
  double diff = 0, size = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    diff = std::max(diff, std::abs(got[i] - exact[i]));
    size = std::max(size, std::abs(exact[i]));
  }
  return diff / size;
}

// Logits [T·B, V] of tokens [T, B], and the gradient of the first layer's W_hh that their loss gives.
std::pair<std::vector<double>, std::vector<double>> logits_and_gradient(const model::MusicLSTM& net, const Tensor& x,
                                                                        const Tensor& targets) {
  model::DropoutStream unused;
  const Tensor logits = net.forward(x, false, false, unused);
  ops::cross_entropy_logits(logits, targets).backward();
  const Tensor& w_hh = net.lstm().layers[0].w_hh;
  std::vector<double> gradient = w_hh.grad().to_vector();
  for (const auto& p : net.parameters()) Tensor(p.tensor).zero_grad();
  return {logits.to_vector(), gradient};
}

}  // namespace

TEST_CASE("precision: two models at fp32 and bf16 in one process, used in turn, each keep their own") {
  if (!bf16_here()) {
    MESSAGE("SKIPPED two precisions side by side: this CPU has no bf16 products");
    return;
  }
  model::ModelConfig config;  // embeddings, so that every product has depth (K = 1 stays float32)
  config.vocab = 40;
  config.input = model::InputKind::Embedding;
  config.embedding_dim = 24;
  config.hidden = 48;
  config.layers = 2;
  config.dense = 32;
  config.dropout = 0;
  config.dtype = DType::F64;
  const model::MusicLSTM exact(config);
  config.dtype = DType::F32;
  model::MusicLSTM fp32(config, nn::Init::Uninitialised), bf16(config, nn::Init::Uninitialised);
  for (const model::MusicLSTM* net : {&fp32, &bf16})
    for (size_t i = 0; i < exact.parameters().size(); ++i)
      Tensor(net->parameters()[i].tensor).copy_from(exact.parameters()[i].tensor);
  bf16.set_precision(kBf16);  // a process-wide setting would now hold for fp32 too
  CHECK(fp32.precision() == kFp32);

  const int64_t steps = 9, batch = 3;
  std::vector<int32_t> tokens(steps * batch), next(steps * batch);
  for (int64_t i = 0; i < steps * batch; ++i) tokens[i] = static_cast<int32_t>((i * 17 + 3) % config.vocab);
  for (int64_t i = 0; i < steps * batch; ++i) next[i] = static_cast<int32_t>((i * 29 + 1) % config.vocab);
  const Tensor x = Tensor::from_indices({steps, batch}, tokens), t = Tensor::from_indices({steps * batch}, next);
  // In turn: fp32, bf16, fp32 again; the float64 model is the truth for both.
  const auto first = logits_and_gradient(fp32, x, t), rounded = logits_and_gradient(bf16, x, t),
             again = logits_and_gradient(fp32, x, t), truth = logits_and_gradient(exact, x, t);
  CHECK(first == again);                                     // bit for bit: nothing of bf16 stayed behind
  CHECK(relative_error(first.first, truth.first) < 1e-5);    // fp32's logits (measured: about 1e-7)
  CHECK(relative_error(first.second, truth.second) < 1e-5);  // and its backward's products
  CHECK(relative_error(rounded.first, truth.first) > 1e-4);  // bf16's really were bf16 (about 1e-3)
  CHECK(relative_error(rounded.second, truth.second) > 1e-4);

  // Generation packs each model's weights at its own precision: two generators fed in turn.
  NoGradGuard no_graph;
  model::Generator fp32_steps(fp32), bf16_steps(bf16);
  std::vector<int32_t> prefix;  // the first sequence of the batch
  for (int64_t i = 0; i < steps; ++i) {
    prefix.push_back(tokens[i * batch]);
    const std::vector<double> a = fp32_steps.feed(prefix.back()).to_vector();
    const std::vector<double> b = bf16_steps.feed(prefix.back()).to_vector();
    model::DropoutStream unused;
    const std::vector<double> last =
        exact.forward(Tensor::from_indices({i + 1, 1}, prefix), true, false, unused).to_vector();
    CAPTURE(i);
    CHECK(relative_error(a, last) < 1e-5);
    CHECK(relative_error(b, last) > 1e-4);
  }
}
