// Benchmarks. CPU: the seed network's whole training step (fp32, and bf16 products), its forward
// pass, one LSTM layer, the product behind them as the machine's peak (fp32 and bf16), and the
// bf16 cells with their operands in cache (the floor of their share of the step). GPU (bench_lstm_gpu.cpp,
// where CUDA is built and a GPU present): cuDNN's LSTM against ours. GFLOP/s counters count multiply-adds twice;
// products_share and preparing_share, the shares of a CPU step's thread time (wall time × threads) inside the
// products and preparing their operands;
// faults, the page faults per step.
#include <benchmark/benchmark.h>
#include <omp.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <string_view>
#include <vector>

#include "bench/seed_network.h"
#include "engine/cpu/products.h"
#include "engine/ops/lstm.h"
#include "engine/ops/lstm_cells.h"
#include "tools/openmp_waits.h"

using namespace legato;

namespace {

void set_flops(benchmark::State& state, double flops_per_iteration) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// The process's minor page faults so far: pages the kernel faulted in (and cleared) for it.
double page_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_minflt);
}

// Runs the benchmark's loop and reports, beside its time, the shares of it spent inside the
// products and preparing their operands (rounding to bf16, packing), measured by the products'
// own clocks (cpu::product_times), not computed from FLOP counts: the distance to the limit that
// the products' speed sets. The clocks count thread-seconds (a product of the whole team once
// per thread, a thread's own slice of the LSTM's recurrent product inside its time loop's region
// once), so a share is their sum over the threads times the wall time. faults: the page faults per iteration, each a
// page the kernel clears (2 MiB for the large blocks): a steady step should fault none.
template <class Step>
void run_with_shares(benchmark::State& state, Step&& step) {
  const cpu::ProductTimes before = cpu::product_times();
  const double faults_before = page_faults();
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) step();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const cpu::ProductTimes after = cpu::product_times();
  if (wall <= 0) return;
  const double thread_seconds = wall * omp_get_max_threads();
  state.counters["products_share"] = (after.products - before.products) / thread_seconds;
  state.counters["preparing_share"] = (after.preparing - before.preparing) / thread_seconds;
  state.counters["faults"] = benchmark::Counter(page_faults() - faults_before, benchmark::Counter::kAvgIterations);
}

// The products' precision for one benchmark: bf16 where the CPU has it; nothing (the benchmark
// marked skipped, with the reason) where it has not.
std::optional<Precision> precision_for(benchmark::State& state, bool bf16) {
  if (!bf16) return Precision::FP32;
  std::string why;
  if (cpu::bf16_supported(&why)) return Precision::BF16;
  state.SkipWithError(why.c_str());
  return std::nullopt;
}

template <bool bf16>
void BM_cpu_train_step_seed(benchmark::State& state) {
  const std::optional<Precision> precision = precision_for(state, bf16);
  if (!precision) return;
  bench::SeedShape shape;
  bench::SeedTrainer trainer(shape, *precision);
  trainer.step();  // warm-up: the allocator's cache fills here
  run_with_shares(state, [&] { benchmark::DoNotOptimize(trainer.step()); });
  set_flops(state, bench::seed_train_flops(shape));
}

void BM_cpu_forward_seed(benchmark::State& state) {
  bench::SeedShape shape;
  bench::SeedTrainer trainer(shape);
  trainer.forward();
  run_with_shares(state, [&] { benchmark::DoNotOptimize(trainer.forward()); });
  set_flops(state, bench::seed_forward_flops(shape));
}

// One LSTM(512) layer with input 512, T = 100, B = 64; arg 0: forward only, 1: with backward.
void BM_cpu_lstm_layer(benchmark::State& state) {
  const bool train = state.range(0) == 1;
  bench::SeedShape shape;
  nn::StackedLstm lstm(shape.hidden, shape.hidden, 1, 3);
  Tensor x = Tensor::uniform({shape.steps, shape.batch, shape.hidden}, -1, 1, 4).set_requires_grad(train);
  const Tensor seed = Tensor::uniform({shape.steps, shape.batch, shape.hidden}, -1, 1, 5);
  auto run = [&] {
    if (!train) {
      NoGradGuard guard;
      benchmark::DoNotOptimize(ops::lstm(x, Tensor(), Tensor(), lstm.layers[0]).y.raw_data());
      return;
    }
    ops::lstm(x, Tensor(), Tensor(), lstm.layers[0]).y.backward(seed);
    for (auto& p : lstm.parameters("")) p.tensor.zero_grad();
    x.zero_grad();
  };
  run();
  run_with_shares(state, run);
  const double fwd = bench::lstm_layer_forward_flops(shape, shape.hidden);
  set_flops(state, train ? 3 * fwd : fwd);  // backward: dh, dW_hh, dW_ih, dx = twice forward
}

// The machine's reference: the LSTM's input projection as one product, through the same path.
template <bool bf16>
void BM_cpu_gemm_peak(benchmark::State& state) {
  const std::optional<Precision> precision = precision_for(state, bf16);
  if (!precision) return;
  const int64_t m = 6400, n = 2048, k = 512;
  const Tensor a = Tensor::uniform({m, k}, -1, 1, 1), b = Tensor::uniform({n, k}, -1, 1, 2);
  Tensor c = Tensor::empty({m, n});
  for (auto _ : state) {
    cpu::gemm(a.data<float>(), false, b.data<float>(), true, c.data<float>(), m, n, k, false, *precision);
    benchmark::ClobberMemory();
  }
  set_flops(state, 2.0 * m * n * k);
}

// The time-loop region's cells at bf16 (lstm_cells_wide.cpp) on one thread's half of the seed
// network's units (B 64, H 512, units [0, 256)), every operand hot in cache: what a step-half's
// cells cost this core with nothing to wait on. per_seed_step: that times the 300 step-halves (3
// layers × 100 steps) each of the 2 threads makes in a seed training step, the floor of the cells'
// time in the step (bench/results/cpu.md). Run again on their own outputs: the forward's gate
// pairs read back as pre-activations are floats in (0, 1), and the backward's carried dc stays
// bounded, so no iteration meets a denormal or a NaN.
template <bool kBackward>
void BM_cpu_cells_hot(benchmark::State& state) {
  const int64_t B = 64, H = 512, units = 256;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1, 1);
  auto filled = [&](int64_t n) {
    std::vector<float> v(n);
    for (float& e : v) e = uniform(rng);
    return v;
  };
  std::vector<float> gates = filled(B * 4 * H), rec = filled(B * 4 * units), bias = filled(4 * H),
                     c_prev = filled(B * H), c = filled(B * H), h(B * H), dh = filled(B * units), gy = filled(B * H),
                     dc = filled(B * H);
  std::vector<uint16_t> h16(B * H), d16(B * 4 * H);
  // [B, 4H] as the forward leaves it at bf16: gate pairs in the i and g blocks (lstm_cells.h)
  ops::cell_forward_units_wide(gates.data(), rec.data(), bias.data(), c_prev.data(), c.data(), h.data(), h16.data(), B,
                               H, 0, units);
  for (auto _ : state) {
    if constexpr (kBackward)
      ops::cell_backward_units_wide(gates.data(), c_prev.data(), c.data(), dh.data(), units, gy.data(), dc.data(),
                                    nullptr, d16.data(), B, H, 0, units);
    else
      ops::cell_forward_units_wide(gates.data(), rec.data(), bias.data(), c_prev.data(), c.data(), h.data(), h16.data(),
                                   B, H, 0, units);
    benchmark::ClobberMemory();
  }
  state.counters["per_seed_step"] =
      benchmark::Counter(1.0 / 300, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

}  // namespace

BENCHMARK_TEMPLATE(BM_cpu_train_step_seed, false)
    ->Name("cpu/train_step/seed/B64/T100")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_cpu_train_step_seed, true)
    ->Name("cpu/train_step_bf16/seed/B64/T100")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_cpu_forward_seed)->Name("cpu/forward/seed/B64/T100")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_cpu_lstm_layer)
    ->Name("cpu/lstm_layer/H512/B64/T100/forward")
    ->Arg(0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_cpu_lstm_layer)
    ->Name("cpu/lstm_layer/H512/B64/T100/train")
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_cpu_cells_hot, false)
    ->Name("cpu/cells_bf16_hot/B64/H512/units256/forward")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_cpu_cells_hot, true)
    ->Name("cpu/cells_bf16_hot/B64/H512/units256/backward")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_cpu_gemm_peak, false)
    ->Name("cpu/sgemm/6400x2048x512")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_cpu_gemm_peak, true)
    ->Name("cpu/gemm_bf16/6400x2048x512")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

#if defined(LEGATO_BENCH_GPU)
namespace legato::bench {
void register_gpu_benchmarks(bool listing);
}
#endif

int main(int argc, char** argv) {
  legato::tools::shorten_openmp_waits(argv);  // before any OpenMP work (tools/openmp_waits.h)
#if defined(LEGATO_BENCH_GPU)
  bool listing = false;  // --benchmark_list_tests: the GPU benchmarks are listed even without a GPU
  for (int k = 1; k < argc; ++k) listing |= std::string_view(argv[k]).starts_with("--benchmark_list_tests");
  legato::bench::register_gpu_benchmarks(listing);
#else
  // Standard error: standard output carries only the results (--benchmark_format=json).
  std::fprintf(stderr, "bench_lstm: built without CUDA: only the CPU benchmarks run\n");
#endif
  // What the numbers were measured on: the CPU, its threads and the products' kernels.
  benchmark::AddCustomContext("cpu", legato::cpu::cpu_description(legato::Precision::FP32).substr(5));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
