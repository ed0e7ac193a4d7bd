// GPU benchmarks: cuDNN's LSTM and ours side by side at identical shapes and math modes; for
// training stacks also ours as the layer wavefront (wavefront/..., kernels/lstm_wavefront_cuda.h,
// chunks of 10 steps or LEGATO_WAVEFRONT_CHUNK).
// Before a shape is timed, both run on the same weights and inputs and their outputs and
// gradients must agree (atol 1e-3 + rtol 1e-2 in strict FP32; 1e-2 + 5e-2 with TF32); a shape
// that disagrees reports an error instead of a time. Timing: CUDA events, one warm-up run, L2
// flushed before every iteration, manual time, 5 repetitions reported as mean/median.
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "bench/cudnn_lstm.h"
#include "bench/legato_lstm_gpu.h"
#include "engine/backend.h"
#include "kernels/cuda_check.h"
#include "kernels/device_buffer.h"
#include "kernels/lstm_cuda.h"

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
      *where = "element " + std::to_string(k) + ": legato " + std::to_string(a[k]) + ", cudnn " + std::to_string(b[k]);
      return false;
    }
  return true;
}

// The wavefront's chunk (steps): 10, or LEGATO_WAVEFRONT_CHUNK.
int wavefront_chunk() {
  const char* env = std::getenv("LEGATO_WAVEFRONT_CHUNK");
  return env && std::atoi(env) > 0 ? std::atoi(env) : 10;
}

// Runs both on the same data; returns an empty string when they agree. chunk > 0: ours as the
// layer wavefront.
std::string validate(const Config& c, int chunk = 0) {
  const auto layers = random_layers(c.shape);
  CudnnLstm cudnn(c.shape, c.tf32);
  LegatoLstmGpu ours(c.shape, c.tf32, chunk);
  cudnn.set_weights(layers);
  ours.set_weights(layers);
  Buffers a(c.shape), b(c.shape);
  cudnn.forward(a.x.get(), a.y.get(), a.hy.get(), a.cy.get(), true);
  ours.forward(b.x.get(), b.y.get(), b.hy.get(), b.cy.get());
  const double atol = c.tf32 ? 1e-2 : 1e-3, rtol = c.tf32 ? 5e-2 : 1e-2;
  std::string where;
  if (!close(b.y.download(), a.y.download(), atol, rtol, &where)) return "y: " + where;
  if (!close(b.cy.download(), a.cy.download(), atol, rtol, &where)) return "cy: " + where;
  if (c.mode == Mode::Forward) return "";
  cudnn.zero_weight_gradients();
  cudnn.backward_data(a.y.get(), a.dy.get(), a.dx.get(), a.dhx.get(), a.dcx.get());
  cudnn.backward_weights(a.x.get(), a.y.get());
  ours.backward(b.x.get(), b.dy.get(), b.dx.get(), b.dhx.get(), b.dcx.get());
  if (!close(b.dx.download(), a.dx.download(), atol, rtol, &where)) return "dx: " + where;
  for (int l = 0; l < c.shape.layers; ++l) {
    const HostLstmLayer g = ours.weight_gradients(l), r = cudnn.weight_gradients(l);
    if (!close(g.w_ih, r.w_ih, atol, rtol, &where)) return "dW_ih layer " + std::to_string(l) + ": " + where;
    if (!close(g.w_hh, r.w_hh, atol, rtol, &where)) return "dW_hh layer " + std::to_string(l) + ": " + where;
    if (!close(g.b_ih, r.b_ih, atol, rtol, &where)) return "db layer " + std::to_string(l) + ": " + where;
  }
  return "";
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

void bench_cudnn(benchmark::State& state, Config c) {
  if (const std::string problem = validate(c); !problem.empty())
    return state.SkipWithError(("mismatch: " + problem).c_str());
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

// Ours layer by layer (chunk 0) or as the layer wavefront; the wavefront is validated against
// cuDNN first, as cuDNN is against ours (bench_cudnn).
void bench_ours(benchmark::State& state, const Config& c, int chunk) {
  if (chunk > 0)
    if (const std::string problem = validate(c, chunk); !problem.empty())
      return state.SkipWithError(("mismatch: " + problem).c_str());
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

// Registers the GPU benchmarks when a GPU is present; says so and registers nothing otherwise.
void register_gpu_benchmarks() {
  if (legato::cuda_device_count() == 0) {
    // Standard error: standard output carries only the results (--benchmark_format=json).
    std::fprintf(stderr,
                 "bench_lstm: no CUDA GPU on this machine: the cudnn/ and legato/ GPU benchmarks are skipped\n");
    return;
  }
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
              for (const char* side : {"cudnn", "legato", "wavefront"}) {
                const std::string name = side;
                if (name == "wavefront" && !wavefront) continue;
                benchmark::RegisterBenchmark((name + "/" + c.key()).c_str(),
                                             name == "cudnn"    ? bench_cudnn
                                             : name == "legato" ? bench_legato
                                                                : bench_wavefront,
                                             c)
                    ->UseManualTime()
                    ->Unit(benchmark::kMicrosecond)
                    ->Repetitions(5)
                    ->ReportAggregatesOnly(true);
              }
            }
  register_generate_benchmarks();
}

}  // namespace legato::bench
