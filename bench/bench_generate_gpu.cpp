// Generation benchmarks on the GPU (the second without cuDNN only where it is found), batch 1, the seed network (3 x
// 512, scalar input, Dense(256), Dense(279)), 500 tokens from a one-token primer:
//   legato/generate/seed/<sampling>: the persistent kernel (model::compose_persistent), one launch;
//   cudnn/step/seed/<sampling>: cuDNN stepped with T = 1 from the carried state, the dense layers
//     on cuBLAS, the logits copied to the host and sampled there (model::sample_token).
// Before timing, each is validated against the CPU: its logits at every one of the first 40 steps,
// fed the tokens it chose, against model::Generator on the CPU (atol 1e-3 + rtol 1e-2, strict
// FP32); a mismatch reports an error instead of a time. Wall-clock time per piece (the host's
// share is part of what is compared), one warm-up, 5 repetitions; counter us_per_token, and
// vs_cudnn (< 1: faster) on ours.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#if defined(LEGATO_BENCH_CUDNN)
#include "bench/cudnn_lstm.h"
#endif
#include "bench/seed_network.h"
#include "engine/cuda/gemm.h"
#include "kernels/cuda_check.h"
#include "kernels/device_buffer.h"
#include "kernels/sampling.h"
#include "model/generator.h"
#include "model/generator_persistent.h"

namespace legato::bench {
namespace {

using kernels::DeviceBuffer;

constexpr int kTokens = 500, kChecked = 40;

std::vector<float> host_floats(const Tensor& t) {
  const Tensor c = t.to(Device::CPU);
  return std::vector<float>(c.data<float>(), c.data<float>() + c.numel());
}

// Logits [steps, V] of the CPU generator fed `tokens`.
std::vector<float> cpu_logits(const model::MusicLSTM& cpu, const std::vector<int32_t>& tokens) {
  model::Generator gen(cpu);
  std::vector<float> out;
  for (int32_t t : tokens) {
    const Tensor& z = gen.feed(t);
    out.insert(out.end(), z.data<float>(), z.data<float>() + z.numel());
  }
  return out;
}

std::string compare(const std::vector<float>& got, const std::vector<float>& ref) {
  for (size_t k = 0; k < ref.size() && k < got.size(); ++k)
    if (!(std::abs(got[k] - ref[k]) <= 1e-3 + 1e-2 * std::abs(ref[k])))
      return "logit " + std::to_string(k) + ": " + std::to_string(got[k]) + ", CPU " + std::to_string(ref[k]);
  return got.size() < ref.size() ? "too few logits" : "";
}

#if defined(LEGATO_BENCH_CUDNN)
// cuDNN stepped one token at a time, with the head on cuBLAS and sampling on the host.
class CudnnStepper {
 public:
  explicit CudnnStepper(const model::MusicLSTM& net)
      : config_(net.config()),
        lstm_({config_.layers, 1, static_cast<int>(config_.hidden), 1, 1}, false),
        x_(1),
        y_(config_.hidden),
        h_{DeviceBuffer(config_.layers * config_.hidden), DeviceBuffer(config_.layers * config_.hidden)},
        c_{DeviceBuffer(config_.layers * config_.hidden), DeviceBuffer(config_.layers * config_.hidden)},
        w1_(host_floats(net.dense1().weight)),
        b1_(host_floats(net.dense1().bias)),
        w2_(host_floats(net.dense2().weight)),
        b2_(host_floats(net.dense2().bias)),
        hidden_(config_.dense),
        logits_(config_.vocab) {
    std::vector<HostLstmLayer> layers;
    for (const ops::LstmWeights& w : net.lstm().layers)
      layers.push_back({host_floats(w.w_ih), host_floats(w.w_hh), host_floats(w.b_ih), host_floats(w.b_hh)});
    lstm_.set_weights(layers);
    LEGATO_CUBLAS_CHECK(cublasCreate(&blas_));
  }
  ~CudnnStepper() { cublasDestroy(blas_); }

  void reset() {
    h_[0].zero();
    c_[0].zero();
    current_ = 0;
  }
  // Feeds one token; returns the logits on the host.
  const std::vector<float>& feed(int32_t token) {
    const int H = static_cast<int>(config_.hidden), D = static_cast<int>(config_.dense),
              V = static_cast<int>(config_.vocab);
    const float x = static_cast<float>(kernels::scalar_token_input(token, config_.vocab));
    LEGATO_CUDA_CHECK(cudaMemcpy(x_.get(), &x, sizeof x, cudaMemcpyHostToDevice));
    const int next = current_ ^ 1;
    lstm_.step(x_.get(), h_[current_].get(), c_[current_].get(), y_.get(), h_[next].get(), c_[next].get());
    current_ = next;
    // hidden = y W1^T + b1, logits = hidden W2^T + b2 (the seed network has no ReLU).
    LEGATO_CUDA_CHECK(cudaMemcpy(hidden_.get(), b1_.get(), D * sizeof(float), cudaMemcpyDeviceToDevice));
    cuda::gemm_rm(blas_, false, true, 1, D, H, 1.0f, y_.get(), H, w1_.get(), H, 1.0f, hidden_.get(), D);
    LEGATO_CUDA_CHECK(cudaMemcpy(logits_.get(), b2_.get(), V * sizeof(float), cudaMemcpyDeviceToDevice));
    cuda::gemm_rm(blas_, false, true, 1, V, D, 1.0f, hidden_.get(), D, w2_.get(), D, 1.0f, logits_.get(), V);
    host_logits_ = logits_.download();
    return host_logits_;
  }

 private:
  model::ModelConfig config_;
  CudnnLstm lstm_;
  DeviceBuffer x_, y_, h_[2], c_[2], w1_, b1_, w2_, b2_, hidden_, logits_;
  cublasHandle_t blas_ = nullptr;
  int current_ = 0;
  std::vector<float> host_logits_;
};

#endif

struct Sampling {
  const char* name;
  model::SamplingOptions options;
};

std::vector<Sampling> samplings() {
  model::SamplingOptions greedy, top;
  greedy.greedy = true;
  top.temperature = 1.0;
  top.top_k = 40;
  top.top_p = 0.95;
  return {{"greedy", greedy}, {"topk40_topp095", top}};
}

std::map<std::string, double>& cudnn_us() {
  static std::map<std::string, double> times;
  return times;
}

template <class Piece>
void time_pieces(benchmark::State& state, const std::string& key, bool is_cudnn, Piece&& piece) {
  piece();  // warm-up
  double total = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    piece();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(s);
    total += s;
  }
  const double us = total / static_cast<double>(state.iterations()) * 1e6 / kTokens;
  state.counters["us_per_token"] = us;
  if (is_cudnn)
    cudnn_us()[key] = us;
  else if (auto it = cudnn_us().find(key); it != cudnn_us().end())
    state.counters["vs_cudnn"] = us / it->second;
}

#if defined(LEGATO_BENCH_CUDNN)
void bench_cudnn_step(benchmark::State& state, Sampling s) {
  model::MusicLSTM cpu(seed_config(SeedShape{}));
  CudnnStepper stepper(cpu);
  std::mt19937_64 rng(1);
  auto piece = [&](int tokens, std::vector<int32_t>* fed, std::vector<float>* logits) {
    stepper.reset();
    int32_t token = 0;
    for (int k = 0; k < tokens; ++k) {
      if (fed) fed->push_back(token);
      const std::vector<float>& z = stepper.feed(token);
      if (logits) logits->insert(logits->end(), z.begin(), z.end());
      token = model::sample_token(z.data(), static_cast<int64_t>(z.size()), s.options, rng);
    }
  };
  std::vector<int32_t> fed;
  std::vector<float> logits;
  piece(kChecked, &fed, &logits);
  if (const std::string problem = compare(logits, cpu_logits(cpu, fed)); !problem.empty())
    return state.SkipWithError(("mismatch: " + problem).c_str());
  time_pieces(state, s.name, true, [&] { piece(kTokens, nullptr, nullptr); });
}

#endif

void bench_legato_generate(benchmark::State& state, Sampling s) {
  model::MusicLSTM cpu(seed_config(SeedShape{})), gpu(seed_config(SeedShape{}));
  gpu.to(Device::CUDA);
  std::vector<float> logits;
  const auto made = model::compose_persistent(gpu, {0}, kChecked, s.options, {}, -1, 1, {}, &logits);
  if (!made) return state.SkipWithError(("does not fit: " + model::device_generation(gpu)).c_str());
  std::vector<int32_t> fed = {0};
  fed.insert(fed.end(), made->begin(), made->end() - 1);
  logits.resize(fed.size() * static_cast<size_t>(gpu.config().vocab));  // the last token made is not fed
  if (const std::string problem = compare(logits, cpu_logits(cpu, fed)); !problem.empty())
    return state.SkipWithError(("mismatch: " + problem).c_str());
  time_pieces(state, s.name, false, [&] {
    if (!model::compose_persistent(gpu, {0}, kTokens, s.options, {}, -1, 1)) state.SkipWithError("not run");
  });
}

}  // namespace

// Called by register_gpu_benchmarks (bench_lstm_gpu.cpp) when there is a GPU.
void register_generate_benchmarks() {
  std::vector<std::string> sides = {"legato/generate"};
#if defined(LEGATO_BENCH_CUDNN)
  sides.insert(sides.begin(), "cudnn/step");  // first, so that ours can report vs_cudnn
#endif
  for (const Sampling& s : samplings())
    for (const std::string& side : sides) {
      auto* fn = bench_legato_generate;
#if defined(LEGATO_BENCH_CUDNN)
      if (side == "cudnn/step") fn = bench_cudnn_step;
#endif
      benchmark::RegisterBenchmark((side + "/seed/T500/" + s.name).c_str(), fn, s)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond)
          ->Iterations(5)
          ->Repetitions(3)
          ->ReportAggregatesOnly(true);
    }
}

}  // namespace legato::bench
