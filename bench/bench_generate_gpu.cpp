// Generation benchmarks on the GPU (the second without cuDNN only where it is found), batch 1, the seed network (3 x
// 512, scalar input, Dense(256), Dense(279)), 500 tokens from a one-token primer:
//   legato/generate/seed/<sampling>: the persistent kernel (model::compose_persistent), one launch;
//   cudnn/step/seed/<sampling>: cuDNN stepped with T = 1 from the carried state, the dense layers
//     on cuBLAS, the logits copied to the host and sampled there (model::sample_token); cuDNN's
//     standard and persistent algorithms are each validated and timed on 50 tokens, the fastest is
//     kept (the label says each one's time or why cuDNN refused it);
//   cudnn/graph/seed/<sampling>: the same step with the fastest algorithm, sampling on the device
//     (kernels::sample_token_launch, the persistent kernel's rules), captured once as a CUDA
//     graph and replayed per token: cuDNN's time without the host's round trips.
// Before timing, each is validated against the CPU: its logits at every one of the first 40 steps,
// fed the tokens it chose, against model::Generator on the CPU (atol 1e-3 + rtol 1e-2, strict
// FP32); a mismatch reports an error instead of a time. Wall-clock time per piece (the host's
// share is part of what is compared), one warm-up, 5 repetitions; counter us_per_token, and on
// ours vs_cudnn and vs_cudnn_graph (< 1: faster than cuDNN stepped, than cuDNN in a graph).
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
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
#include "kernels/lstm_persistent.h"
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
// cuDNN stepped one token at a time, with the head on cuBLAS and sampling on the host (feed), or
// everything on `stream` from the device's token (step_on_device, for a graph).
class CudnnStepper {
 public:
  CudnnStepper(const model::MusicLSTM& net, CudnnAlgo algo)
      : config_(net.config()),
        lstm_({config_.layers, 1, static_cast<int>(config_.hidden), 1, 1}, false, algo),
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
  float* x() { return x_.get(); }
  const float* logits() const { return logits_.get(); }
  // One step on `stream` from x (device) and the state in buffer `from` (0 or 1) into the other:
  // what a graph captures (one per parity, so that no copy carries the state). The logits stay on
  // the device.
  void step_on_device(cudaStream_t stream, int from) {
    lstm_.set_stream(stream);
    lstm_.step(x_.get(), h_[from].get(), c_[from].get(), y_.get(), h_[from ^ 1].get(), c_[from ^ 1].get());
    LEGATO_CUBLAS_CHECK(cublasSetStream(blas_, stream));
    head(stream);
    LEGATO_CUBLAS_CHECK(cublasSetStream(blas_, nullptr));
    lstm_.set_stream(nullptr);
  }
  // Feeds one token; returns the logits on the host.
  const std::vector<float>& feed(int32_t token) {
    const float x = static_cast<float>(kernels::scalar_token_input(token, config_.vocab));
    LEGATO_CUDA_CHECK(cudaMemcpy(x_.get(), &x, sizeof x, cudaMemcpyHostToDevice));
    step_on_device(nullptr, current_);
    current_ ^= 1;
    host_logits_ = logits_.download();
    return host_logits_;
  }

 private:
  // hidden = y W1^T + b1, logits = hidden W2^T + b2 (the seed network has no ReLU), on `stream`.
  void head(cudaStream_t stream) {
    const int H = static_cast<int>(config_.hidden), D = static_cast<int>(config_.dense),
              V = static_cast<int>(config_.vocab);
    LEGATO_CUDA_CHECK(cudaMemcpyAsync(hidden_.get(), b1_.get(), D * sizeof(float), cudaMemcpyDeviceToDevice, stream));
    cuda::gemm_rm(blas_, false, true, 1, D, H, 1.0f, y_.get(), H, w1_.get(), H, 1.0f, hidden_.get(), D);
    LEGATO_CUDA_CHECK(cudaMemcpyAsync(logits_.get(), b2_.get(), V * sizeof(float), cudaMemcpyDeviceToDevice, stream));
    cuda::gemm_rm(blas_, false, true, 1, V, D, 1.0f, hidden_.get(), D, w2_.get(), D, 1.0f, logits_.get(), V);
  }

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

// Times `piece` (one warm-up first): us_per_token; an anchor (cuDNN's, `anchor` its key) keeps
// its time, ours (anchor "") reports its ratio to each anchor of its sampling: vs_cudnn (stepped,
// host sampling) and vs_cudnn_graph (the graph).
template <class Piece>
void time_pieces(benchmark::State& state, const std::string& name, const std::string& anchor, Piece&& piece) {
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
  if (!anchor.empty()) {
    cudnn_us()[anchor + "/" + name] = us;
    return;
  }
  for (const auto& [key, counter] :
       {std::pair<std::string, const char*>{"step", "vs_cudnn"}, {"graph", "vs_cudnn_graph"}})
    if (auto it = cudnn_us().find(key + "/" + name); it != cudnn_us().end()) state.counters[counter] = us / it->second;
}

#if defined(LEGATO_BENCH_CUDNN)
// A piece of `tokens` from token 0 stepped with host sampling; the tokens fed and the logits
// recorded when asked.
void host_piece(CudnnStepper& stepper, const model::SamplingOptions& options, std::mt19937_64& rng, int tokens,
                std::vector<int32_t>* fed, std::vector<float>* logits) {
  stepper.reset();
  int32_t token = 0;
  for (int k = 0; k < tokens; ++k) {
    if (fed) fed->push_back(token);
    const std::vector<float>& z = stepper.feed(token);
    if (logits) logits->insert(logits->end(), z.begin(), z.end());
    token = model::sample_token(z.data(), static_cast<int64_t>(z.size()), options, rng);
  }
}

// cuDNN's algorithm for the stepped baseline: each one validated on kChecked steps against the
// CPU, then timed on 50 tokens; the fastest kept. `label` says each one's time or why it was not
// used (cuDNN's status for an unsupported one: reported, not fatal). Chosen once per sampling.
struct Choice {
  CudnnAlgo algo = CudnnAlgo::Standard;
  bool found = false;
  std::string label;
};

std::string try_algorithm(const model::MusicLSTM& cpu, CudnnAlgo algo, const Sampling& s, double* us) {
  try {
    CudnnStepper stepper(cpu, algo);
    std::mt19937_64 rng(1);
    std::vector<int32_t> fed;
    std::vector<float> logits;
    host_piece(stepper, s.options, rng, kChecked, &fed, &logits);
    if (const std::string problem = compare(logits, cpu_logits(cpu, fed)); !problem.empty())
      return "mismatch (" + problem + ")";
    constexpr int kTimed = 50;
    const auto start = std::chrono::steady_clock::now();
    host_piece(stepper, s.options, rng, kTimed, nullptr, nullptr);
    *us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / kTimed;
    char text[32];
    std::snprintf(text, sizeof text, "%.1f us", *us);
    return text;
  } catch (const std::exception& e) {
    const std::string what = e.what();
    return "refused (" + what.substr(what.rfind(": ") == std::string::npos ? 0 : what.rfind(": ") + 2) + ")";
  }
}

const Choice& fastest_cudnn(const model::MusicLSTM& cpu, const Sampling& s) {
  static std::map<std::string, Choice> chosen;
  if (auto it = chosen.find(s.name); it != chosen.end()) return it->second;
  Choice c;
  double best = 0;
  for (CudnnAlgo algo : kCudnnAlgos) {
    double us = 0;
    const std::string what = try_algorithm(cpu, algo, s, &us);
    c.label += std::string(c.label.empty() ? "" : "; ") + algo_name(algo) + " " + what;
    if (us > 0 && (!c.found || us < best)) c.algo = algo, c.found = true, best = us;
  }
  c.label = std::string("kept ") + algo_name(c.algo) + ": " + c.label;
  return chosen[s.name] = c;
}

void bench_cudnn_step(benchmark::State& state, Sampling s) {
  model::MusicLSTM cpu(seed_config(SeedShape{}));
  const Choice& choice = fastest_cudnn(cpu, s);
  if (!choice.found) return state.SkipWithError(("no cuDNN algorithm ran: " + choice.label).c_str());
  state.SetLabel(choice.label);
  CudnnStepper stepper(cpu, choice.algo);
  std::mt19937_64 rng(1);
  time_pieces(state, s.name, "step", [&] { host_piece(stepper, s.options, rng, kTokens, nullptr, nullptr); });
}

kernels::GenerateSampling device_sampling(const model::SamplingOptions& o) {
  kernels::GenerateSampling g;
  g.temperature = o.temperature;
  g.top_k = o.top_k;
  g.top_p = o.top_p;
  g.greedy = o.greedy;
  g.seed = 1;
  return g;
}

// The stepped baseline as two CUDA graphs (one per parity of the carried state): cuDNN's step,
// the head on cuBLAS and sampling on the device, all on `stream`; a piece is kTokens launches.
class GraphStepper {
 public:
  GraphStepper(CudnnStepper& stepper, const model::ModelConfig& config, const model::SamplingOptions& options)
      : stepper_(stepper), counter_(1), tokens_(kTokens) {
    LEGATO_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    const kernels::GenerateSampling sampling = device_sampling(options);
    auto step = [&](int from) {
      stepper_.step_on_device(stream_, from);
      kernels::sample_token_launch(stepper_.logits(), static_cast<int>(config.vocab), sampling, counter_.get(),
                                   tokens_.get(), stepper_.x(), stream_);
    };
    reset();
    step(0);  // once outside the capture: cuBLAS and cuDNN set up what they need on this stream
    LEGATO_CUDA_CHECK(cudaStreamSynchronize(stream_));
    for (int from : {0, 1}) {
      cudaGraph_t graph = nullptr;
      LEGATO_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
      step(from);
      LEGATO_CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
      LEGATO_CUDA_CHECK(cudaGraphInstantiate(&exec_[from], graph, 0));
      LEGATO_CUDA_CHECK(cudaGraphDestroy(graph));
    }
  }
  ~GraphStepper() {
    for (cudaGraphExec_t e : exec_)
      if (e) cudaGraphExecDestroy(e);
    cudaStreamDestroy(stream_);
  }
  GraphStepper(const GraphStepper&) = delete;
  GraphStepper& operator=(const GraphStepper&) = delete;

  // From token 0 and a zero state; after_each (may be null) runs after each token's graph.
  template <class AfterEach>
  void piece(int tokens, AfterEach&& after_each) {
    reset();
    for (int k = 0; k < tokens; ++k) {
      LEGATO_CUDA_CHECK(cudaGraphLaunch(exec_[k & 1], stream_));
      after_each(k);
    }
    LEGATO_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  std::vector<int32_t> tokens() const { return tokens_.download(); }
  cudaStream_t stream() const { return stream_; }

 private:
  void reset() {
    LEGATO_CUDA_CHECK(cudaDeviceSynchronize());
    stepper_.reset();
    counter_.zero();
    const float x0 = 0.0f;  // token 0's scalar input
    LEGATO_CUDA_CHECK(cudaMemcpy(stepper_.x(), &x0, sizeof x0, cudaMemcpyHostToDevice));
    LEGATO_CUDA_CHECK(cudaDeviceSynchronize());  // the memsets above, before the graph's stream reads
  }

  CudnnStepper& stepper_;
  kernels::DeviceArray<int> counter_;
  kernels::DeviceArray<int32_t> tokens_;
  cudaStream_t stream_ = nullptr;
  cudaGraphExec_t exec_[2] = {nullptr, nullptr};
};

void bench_cudnn_graph(benchmark::State& state, Sampling s) {
  model::MusicLSTM cpu(seed_config(SeedShape{}));
  const Choice& choice = fastest_cudnn(cpu, s);
  if (!choice.found) return state.SkipWithError(("no cuDNN algorithm ran: " + choice.label).c_str());
  state.SetLabel(std::string("cuDNN ") + algo_name(choice.algo));
  CudnnStepper stepper(cpu, choice.algo);
  std::optional<GraphStepper> graph;
  try {
    graph.emplace(stepper, cpu.config(), s.options);
  } catch (const std::exception& e) {
    return state.SkipWithError((std::string("graph capture: ") + e.what()).c_str());
  }
  // Validation: every step's logits, fed the tokens the device chose, against the CPU.
  std::vector<float> logits;
  graph->piece(kChecked, [&](int) {
    LEGATO_CUDA_CHECK(cudaStreamSynchronize(graph->stream()));
    std::vector<float> z(static_cast<size_t>(cpu.config().vocab));
    LEGATO_CUDA_CHECK(cudaMemcpy(z.data(), stepper.logits(), z.size() * sizeof(float), cudaMemcpyDeviceToHost));
    logits.insert(logits.end(), z.begin(), z.end());
  });
  const std::vector<int32_t> made = graph->tokens();
  std::vector<int32_t> fed = {0};
  fed.insert(fed.end(), made.begin(), made.begin() + (kChecked - 1));
  if (const std::string problem = compare(logits, cpu_logits(cpu, fed)); !problem.empty())
    return state.SkipWithError(("mismatch: " + problem).c_str());
  time_pieces(state, s.name, "graph", [&] { graph->piece(kTokens, [](int) {}); });
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
  time_pieces(state, s.name, "", [&] {
    if (!model::compose_persistent(gpu, {0}, kTokens, s.options, {}, -1, 1)) state.SkipWithError("not run");
  });
}

}  // namespace

// Called by register_gpu_benchmarks (bench_lstm_gpu.cpp) when there is a GPU.
void register_generate_benchmarks() {
  std::vector<std::string> sides = {"legato/generate"};
#if defined(LEGATO_BENCH_CUDNN)
  sides.insert(sides.begin(), {"cudnn/step", "cudnn/graph"});  // first, so that ours can report its ratios
#endif
  for (const Sampling& s : samplings())
    for (const std::string& side : sides) {
      auto* fn = bench_legato_generate;
#if defined(LEGATO_BENCH_CUDNN)
      if (side == "cudnn/step") fn = bench_cudnn_step;
      if (side == "cudnn/graph") fn = bench_cudnn_graph;
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
