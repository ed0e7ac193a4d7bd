// GPU benchmarks: cuDNN's LSTM and ours side by side at identical shapes and math modes; for
// training stacks also ours as the layer wavefront (wavefront/..., engine/cuda/lstm_wavefront.h,
// chunks of 10 steps or LEGATO_WAVEFRONT_CHUNK).
// Before a shape is timed, both run once on the same weights and inputs and their outputs and
// gradients must agree (atol 1e-3 + rtol 1e-2 in strict FP32; 1e-2 + 5e-2 with TF32); a shape
// that disagrees reports an error instead of a time. Without cuDNN (built where it is not found)
// the legato/ and wavefront/ benchmarks still run, the wavefront checked against legato/.
// Timing: CUDA events, one warm-up run, L2 flushed before every iteration, manual time, a fixed
// number of iterations (iterations_for) and 3 repetitions reported as mean/median/stddev.
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/legato_lstm_gpu.h"
#include "bench/lstm_shape.h"
#if defined(LEGATO_BENCH_CUDNN)
#include "bench/cudnn_lstm.h"
#endif
#include "engine/backend.h"
#include "kernels/cuda_check.h"
#include "kernels/device_buffer.h"
#include "kernels/lstm.h"

namespace legato::bench {
namespace {

using kernels::DeviceBuffer;

enum class Mode { Forward, Train };

struct Config {
  LstmShape shape;
  Mode mode;
  bool tf32;
  std::string key() const {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%s/L%d/H%d/B%d/T%d/%s", mode == Mode::Forward ? "forward" : "train", shape.layers,
                  shape.hidden, shape.batch, shape.steps, tf32 ? "tf32" : "fp32");
    return buf;
  }
};

double lstm_flops(const Config& c) {
  double fwd = 0;
  for (int l = 0; l < c.shape.layers; ++l) {
    const double in = l == 0 ? c.shape.input : c.shape.hidden;
    fwd += 2.0 * c.shape.steps * c.shape.batch * 4 * c.shape.hidden * (in + c.shape.hidden);
  }
  return c.mode == Mode::Forward ? fwd : 3 * fwd;
}

std::vector<HostLstmLayer> random_layers(const LstmShape& s) {
  std::mt19937 rng(5);
  const float limit = 1.0f / std::sqrt(static_cast<float>(s.hidden));
  std::uniform_real_distribution<float> u(-limit, limit);
  auto fill = [&](size_t n) {
    std::vector<float> v(n);
    for (float& x : v) x = u(rng);
    return v;
  };
  std::vector<HostLstmLayer> layers;
  for (int l = 0; l < s.layers; ++l) {
    const size_t in = l == 0 ? s.input : s.hidden, G = 4 * static_cast<size_t>(s.hidden);
    layers.push_back({fill(G * in), fill(G * s.hidden), fill(G), fill(G)});
  }
  return layers;
}

std::vector<float> random_vector(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// Buffers shared by both sides for one shape.
struct Buffers {
  explicit Buffers(const LstmShape& s)
      : x(random_vector(static_cast<size_t>(s.steps) * s.batch * s.input, 1)),
        dy(random_vector(static_cast<size_t>(s.steps) * s.batch * s.hidden, 2)),
        y(static_cast<size_t>(s.steps) * s.batch * s.hidden),
        dx(static_cast<size_t>(s.steps) * s.batch * s.input),
        hy(static_cast<size_t>(s.layers) * s.batch * s.hidden),
        cy(hy.size()),
        dhx(hy.size()),
        dcx(hy.size()) {}
  DeviceBuffer x, dy, y, dx, hy, cy, dhx, dcx;
};

bool close(const std::vector<float>& a, const std::vector<float>& b, double atol, double rtol, std::string* where) {
  if (a.size() != b.size()) return *where = "sizes differ", false;
  for (size_t k = 0; k < a.size(); ++k)
    if (std::abs(a[k] - b[k]) > atol + rtol * std::abs(b[k])) {
      *where = "element " + std::to_string(k) + ": " + std::to_string(a[k]) + ", reference " + std::to_string(b[k]);
      return false;
    }
  return true;
}

// The wavefront's chunk (steps): 10, or LEGATO_WAVEFRONT_CHUNK.
int wavefront_chunk() {
  const char* env = std::getenv("LEGATO_WAVEFRONT_CHUNK");
  return env && std::atoi(env) > 0 ? std::atoi(env) : 10;
}

// What one side computes from the shared weights and data: y, cy, and for training dx and every
// layer's weight gradients.
struct Results {
  std::vector<float> y, cy, dx;
  std::vector<HostLstmLayer> gradients;
};

Results results_of(LegatoLstmGpu& lstm, const Config& c) {
  Buffers b(c.shape);
  lstm.forward(b.x.get(), b.y.get(), b.hy.get(), b.cy.get());
  Results r{b.y.download(), b.cy.download(), {}, {}};
  if (c.mode == Mode::Forward) return r;
  lstm.zero_weight_gradients();
  lstm.backward(b.x.get(), b.dy.get(), b.dx.get(), b.dhx.get(), b.dcx.get());
  r.dx = b.dx.download();
  for (int l = 0; l < c.shape.layers; ++l) r.gradients.push_back(lstm.weight_gradients(l));
  return r;
}

#if defined(LEGATO_BENCH_CUDNN)
Results results_of(CudnnLstm& lstm, const Config& c) {
  Buffers b(c.shape);
  lstm.forward(b.x.get(), b.y.get(), b.hy.get(), b.cy.get(), c.mode == Mode::Train);
  Results r{b.y.download(), b.cy.download(), {}, {}};
  if (c.mode == Mode::Forward) return r;
  lstm.zero_weight_gradients();
  lstm.backward_data(b.y.get(), b.dy.get(), b.dx.get(), b.dhx.get(), b.dcx.get());
  lstm.backward_weights(b.x.get(), b.y.get());
  r.dx = b.dx.download();
  for (int l = 0; l < c.shape.layers; ++l) r.gradients.push_back(lstm.weight_gradients(l));
  return r;
}
#endif

// An empty string when `got` agrees with `ref` (atol 1e-3 + rtol 1e-2 in FP32, 1e-2 + 5e-2 with
// TF32), else the first disagreement.
std::string compare(const Results& got, const Results& ref, const Config& c) {
  const double atol = c.tf32 ? 1e-2 : 1e-3, rtol = c.tf32 ? 5e-2 : 1e-2;
  std::string where;
  if (!close(got.y, ref.y, atol, rtol, &where)) return "y: " + where;
  if (!close(got.cy, ref.cy, atol, rtol, &where)) return "cy: " + where;
  if (!close(got.dx, ref.dx, atol, rtol, &where)) return "dx: " + where;
  for (size_t l = 0; l < got.gradients.size() && l < ref.gradients.size(); ++l) {
    const HostLstmLayer &g = got.gradients[l], &r = ref.gradients[l];
    const std::string layer = " layer " + std::to_string(l) + ": ";
    if (!close(g.w_ih, r.w_ih, atol, rtol, &where)) return "dW_ih" + layer + where;
    if (!close(g.w_hh, r.w_hh, atol, rtol, &where)) return "dW_hh" + layer + where;
    if (!close(g.b_ih, r.b_ih, atol, rtol, &where)) return "db" + layer + where;
  }
  return got.gradients.size() == ref.gradients.size() ? "" : "gradients of a different number of layers";
}

// How a configuration was checked before it is timed.
struct Validation {
  std::string problem;  // empty: they agree
  std::string label;    // what it was checked against, for the report
};

// Ours (layer by layer with chunk 0, else the wavefront) against cuDNN on the same weights and
// data, or where there is no cuDNN the wavefront against ours layer by layer (ours alone is then
// left to the tests, which check every kernel against the CPU in float64). Computed once per
// configuration and chunk: cudnn/X and legato/X share it.
const Validation& validation(const Config& c, int chunk) {
  static std::map<std::string, Validation> done;
  const std::string key = c.key() + "/chunk" + std::to_string(chunk);
  if (auto it = done.find(key); it != done.end()) return it->second;
  const auto layers = random_layers(c.shape);
  LegatoLstmGpu ours(c.shape, c.tf32, chunk);
  ours.set_weights(layers);
  const Results got = results_of(ours, c);
  Validation v;
#if defined(LEGATO_BENCH_CUDNN)
  CudnnLstm cudnn(c.shape, c.tf32);
  cudnn.set_weights(layers);
  v.problem = compare(got, results_of(cudnn, c), c);
  v.label = "checked against cuDNN";
#else
  if (chunk > 0) {
    LegatoLstmGpu sequential(c.shape, c.tf32, 0);
    sequential.set_weights(layers);
    v.problem = compare(got, results_of(sequential, c), c);
    v.label = "checked against legato/ (no cuDNN)";
  } else {
    v.label = "not checked here (no cuDNN; the tests check the kernels against the CPU)";
  }
#endif
  return done.emplace(key, v).first->second;
}

// A fixed number of iterations per repetition, so that the run's length is known in advance:
// about 20 ms of work at an assumed 10 TFLOP/s, at least 3 and at most 100.
int iterations_for(const Config& c) {
  const double n = 0.02 * 1e13 / lstm_flops(c);
  return static_cast<int>(std::clamp(n, 3.0, 100.0));
}

// 256 MiB, written before every timed iteration so no run starts with a warm L2.
void flush_l2() {
  static std::unique_ptr<DeviceBuffer> junk = std::make_unique<DeviceBuffer>(64u << 20);
  LEGATO_CUDA_CHECK(cudaMemset(junk->get(), 0, junk->size() * sizeof(float)));
}

std::map<std::string, double>& cudnn_seconds() {
  static std::map<std::string, double> times;  // by Config::key(), filled by the cuDNN runs
  return times;
}

template <class Run>
void time_loop(benchmark::State& state, const Config& c, bool is_cudnn, Run&& run) {
  cudaEvent_t start, stop;
  LEGATO_CUDA_CHECK(cudaEventCreate(&start));
  LEGATO_CUDA_CHECK(cudaEventCreate(&stop));
  run();  // warm-up
  double total = 0;
  for (auto _ : state) {
    flush_l2();
    LEGATO_CUDA_CHECK(cudaEventRecord(start));
    run();
    LEGATO_CUDA_CHECK(cudaEventRecord(stop));
    LEGATO_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    LEGATO_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    state.SetIterationTime(ms * 1e-3);
    total += ms * 1e-3;
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  state.counters["GFLOP/s"] = benchmark::Counter(lstm_flops(c) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  const double mean = total / static_cast<double>(state.iterations());
  state.counters["us"] = mean * 1e6;
  if (is_cudnn)
    cudnn_seconds()[c.key()] = mean;
  else if (auto it = cudnn_seconds().find(c.key()); it != cudnn_seconds().end())
    state.counters["vs_cudnn"] = mean / it->second;  // < 1: faster than cuDNN
}

#if defined(LEGATO_BENCH_CUDNN)
void bench_cudnn(benchmark::State& state, Config c) {
  const Validation& v = validation(c, 0);
  if (!v.problem.empty()) return state.SkipWithError(("mismatch: " + v.problem).c_str());
  const auto layers = random_layers(c.shape);
  CudnnLstm cudnn(c.shape, c.tf32);
  cudnn.set_weights(layers);
  Buffers b(c.shape);
  time_loop(state, c, true, [&] {
    cudnn.forward(b.x.get(), b.y.get(), b.hy.get(), b.cy.get(), c.mode == Mode::Train);
    if (c.mode == Mode::Train) {
      cudnn.backward_data(b.y.get(), b.dy.get(), b.dx.get(), b.dhx.get(), b.dcx.get());
      cudnn.backward_weights(b.x.get(), b.y.get());
    }
  });
}
#endif

// Ours layer by layer (chunk 0) or as the layer wavefront.
void bench_ours(benchmark::State& state, const Config& c, int chunk) {
  const Validation& v = validation(c, chunk);
  if (!v.problem.empty()) return state.SkipWithError(("mismatch: " + v.problem).c_str());
  state.SetLabel(v.label);
  const auto layers = random_layers(c.shape);
  LegatoLstmGpu ours(c.shape, c.tf32, chunk);
  ours.set_weights(layers);
  Buffers b(c.shape);
  time_loop(state, c, false, [&] {
    ours.forward(b.x.get(), b.y.get(), b.hy.get(), b.cy.get());
    if (c.mode == Mode::Train) ours.backward(b.x.get(), b.dy.get(), b.dx.get(), b.dhx.get(), b.dcx.get());
  });
  if (chunk > 0) state.counters["chunk"] = chunk;
}
void bench_legato(benchmark::State& state, Config c) { bench_ours(state, c, 0); }
void bench_wavefront(benchmark::State& state, Config c) { bench_ours(state, c, wavefront_chunk()); }

}  // namespace

void register_generate_benchmarks();  // bench_generate_gpu.cpp

// Registers the GPU benchmarks when a GPU is present, or when they are only to be listed
// (--benchmark_list_tests: tools/gpu_check.sh --emulated checks its filter against them); says so
// and registers nothing otherwise. Whole pieces first: they are the headline, and a run cut
// short by a time limit should have them.
void register_gpu_benchmarks(bool listing) {
  if (!listing && legato::cuda_device_count() == 0) {
    // Standard error: standard output carries only the results (--benchmark_format=json).
    std::fprintf(stderr, "bench_lstm: no CUDA GPU on this machine: the GPU benchmarks are skipped\n");
    return;
  }
  register_generate_benchmarks();
  std::vector<const char*> sides = {"legato", "wavefront"};
#if defined(LEGATO_BENCH_CUDNN)
  sides.insert(sides.begin(), "cudnn");  // first, so that ours can report vs_cudnn
#endif
  for (int layers : {1, 3})
    for (int hidden : {256, 512, 1024})
      for (int batch : {1, 8, 32, 64, 128})
        for (Mode mode : {Mode::Forward, Mode::Train})
          for (bool tf32 : {false, true})
            for (int steps : {100, 1}) {
              if (steps == 1 && mode == Mode::Train) continue;  // a single step is generation
              const Config c{{layers, hidden, hidden, batch, steps}, mode, tf32};
              // The layer wavefront where there are layers to overlap and a sequence to train on.
              const bool wavefront = layers > 1 && mode == Mode::Train;
              for (const std::string side : sides) {
                if (side == "wavefront" && !wavefront) continue;
                auto* fn = side == "legato" ? bench_legato : bench_wavefront;
#if defined(LEGATO_BENCH_CUDNN)
                if (side == "cudnn") fn = bench_cudnn;
#endif
                benchmark::RegisterBenchmark((side + "/" + c.key()).c_str(), fn, c)
                    ->UseManualTime()
                    ->Unit(benchmark::kMicrosecond)
                    ->Iterations(iterations_for(c))
                    ->Repetitions(3)
                    ->ReportAggregatesOnly(true);
              }
            }
}

}  // namespace legato::bench
