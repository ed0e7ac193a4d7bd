#include "model/generator_persistent.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

#if defined(LEGATO_HAVE_CUDA)
#include <cuda_runtime.h>

#include "engine/autograd.h"
#include "engine/cuda/runtime.h"
#include "engine/ops.h"
#include "kernels/cuda_check.h"
#include "kernels/lstm_persistent_cuda.h"
#endif

namespace legato::model {

#if defined(LEGATO_HAVE_CUDA)
namespace {

kernels::GenerateNetwork network_of(const MusicLSTM& net) {
  const ModelConfig& c = net.config();
  kernels::GenerateNetwork n;
  n.layers = c.layers;
  n.hidden = static_cast<int>(c.hidden);
  n.dense = static_cast<int>(c.dense);
  n.vocab = static_cast<int>(c.vocab);
  n.dense_relu = c.dense_relu;
  n.input = static_cast<int>(net.lstm().layers.at(0).input());
  if (c.input == InputKind::Embedding) n.embedding = net.embedding().weight.data<float>();
  for (int k = 0; k < c.layers && k < kernels::kMaxGenerateLayers; ++k) {
    const ops::LstmWeights& w = net.lstm().layers[k];
    n.layer[k] = {w.w_ih.data<float>(), w.w_hh.data<float>(), w.b_ih.data<float>(), w.b_hh.data<float>()};
  }
  n.dense1_w = net.dense1().weight.data<float>();
  n.dense1_b = net.dense1().bias.data<float>();
  n.dense2_w = net.dense2().weight.data<float>();
  n.dense2_b = net.dense2().bias.data<float>();
  n.head_folded = !c.dense_relu;  // the matrices come from fold_head, made for each piece
  return n;
}

// dense2 and dense1 as one layer where no activation lies between them (the seed preset):
// weight W2 W1 [V, H], bias W2 b1 + b2 [V], on the device. Mathematically the same head in one
// matrix-vector product, so the kernel's tokens take one grid barrier fewer.
struct FoldedHead {
  Tensor weight, bias;
};
FoldedHead fold_head(const MusicLSTM& net) {
  NoGradGuard no_grad;
  const Tensor& w1 = net.dense1().weight;  // [D, H]
  const Tensor& w2 = net.dense2().weight;  // [V, D]
  const Tensor b1 = ops::reshape(net.dense1().bias, {w1.shape()[0], 1});
  const Tensor w2b1 = ops::reshape(ops::matmul(w2, b1), {w2.shape()[0]});
  return {ops::matmul(w2, w1), ops::add(w2b1, net.dense2().bias)};
}

// Why the persistent kernel does not apply to `net` ("" when it does), and its plan.
std::string unsupported(const MusicLSTM& net, kernels::GeneratePlan* plan) {
  const ModelConfig& c = net.config();
  if (net.device() != Device::CUDA) return "the network is not on the GPU";
  if (c.dtype != DType::F32) return "float32 networks only";
  if (c.layers > kernels::kMaxGenerateLayers || c.vocab > kernels::kMaxGenerateVocab || c.hidden > (1 << 20) ||
      c.dense > (1 << 20))
    return "1 to 4 layers and vocabularies up to 2048 only";
  *plan = kernels::plan_generation_on_device(network_of(net));
  return plan->blocks > 0 ? "" : plan->why;
}

// Pinned host memory the device writes into directly (tokens, the count of tokens made).
template <class T>
struct Mapped {
  T* host = nullptr;
  T* device = nullptr;
  explicit Mapped(size_t n) {
    LEGATO_CUDA_CHECK(
        cudaHostAlloc(reinterpret_cast<void**>(&host), std::max<size_t>(n, 1) * sizeof(T), cudaHostAllocMapped));
    LEGATO_CUDA_CHECK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&device), host, 0));
  }
  ~Mapped() { cudaFreeHost(host); }
  Mapped(const Mapped&) = delete;
  Mapped& operator=(const Mapped&) = delete;
};

kernels::GenerateSampling sampling_of(const SamplingOptions& sampling, uint64_t seed) {
  kernels::GenerateSampling s;
  s.temperature = sampling.temperature;
  s.top_k = sampling.top_k;
  s.top_p = sampling.top_p;
  s.greedy = sampling.greedy;
  s.seed = seed;
  return s;
}

// Hands each token over as the device makes it, until the kernel on `stream` has finished; a
// listener that says stop stops the handing over (the kernel finishes its few milliseconds
// regardless) and the piece ends there, as on the CPU.
std::vector<int32_t> hand_over(cudaStream_t stream, const Mapped<int32_t>& tokens, const Mapped<int>& produced,
                               int64_t length, const std::function<bool(const std::vector<int32_t>&)>& on_token) {
  std::vector<int32_t> generated;
  size_t stopped_at = static_cast<size_t>(length);  // where a listener said stop: the piece ends there, as on the CPU
  auto take_new = [&] {
    const int now = *static_cast<volatile int*>(produced.host);
    while (static_cast<int>(generated.size()) < now) {
      generated.push_back(static_cast<int32_t>(static_cast<volatile int32_t*>(tokens.host)[generated.size()]));
      if (on_token && generated.size() <= stopped_at && !on_token(generated)) stopped_at = generated.size();
    }
  };
  for (;;) {
    const cudaError_t state = cudaStreamQuery(stream);
    if (state != cudaErrorNotReady) {
      LEGATO_CUDA_CHECK(state);
      break;
    }
    take_new();
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  take_new();
  if (generated.size() > stopped_at) generated.resize(stopped_at);
  return generated;
}

}  // namespace

std::string device_generation(const MusicLSTM& net) {
  kernels::GeneratePlan plan;
  if (const std::string why = unsupported(net, &plan); !why.empty()) return "stepped token by token: " + why;
  return "persistent kernel: " + std::to_string(plan.blocks) + " blocks x " + std::to_string(plan.threads) +
         " threads, " + std::to_string((plan.shared_bytes + 1023) / 1024) + " KiB of shared memory each";
}

std::optional<std::vector<int32_t>> compose_persistent(const MusicLSTM& net, const std::vector<int32_t>& primer,
                                                       int64_t length, const SamplingOptions& sampling,
                                                       const std::vector<int32_t>& banned, int32_t eos, uint64_t seed,
                                                       const std::function<bool(const std::vector<int32_t>&)>& on_token,
                                                       std::vector<float>* logits) {
  kernels::GeneratePlan plan;
  if (!unsupported(net, &plan).empty()) return std::nullopt;
  const ModelConfig& c = net.config();
  if (primer.empty()) throw std::invalid_argument("compose: the primer is empty");
  if (length < 0 || length > (1 << 30)) throw std::invalid_argument("compose: length out of range");
  check_sampling(sampling);  // the CPU's checks (model::sample_token), before anything runs
  for (int32_t t : primer)
    if (t < 0 || t >= c.vocab)
      throw std::out_of_range("compose: primer token " + std::to_string(t) + " outside the vocabulary");
  kernels::GenerateNetwork n = network_of(net);
  FoldedHead folded;  // alive until the launch has finished (below)
  if (n.head_folded) {
    folded = fold_head(net);
    n.dense2_w = folded.weight.data<float>();
    n.dense2_b = folded.bias.data<float>();
  }
  const int steps = static_cast<int>(primer.size() + static_cast<size_t>(length));
  std::vector<int32_t> banned_mask(static_cast<size_t>(c.vocab), 0);
  for (int32_t b : banned)
    if (b >= 0 && b < c.vocab) banned_mask[static_cast<size_t>(b)] = 1;

  const cudaStream_t stream = cuda::stream();
  Tensor d_primer = Tensor::empty({static_cast<int64_t>(primer.size())}, DType::I32, Device::CUDA);
  Tensor d_banned = Tensor::empty({c.vocab}, DType::I32, Device::CUDA);
  Tensor workspace =
      Tensor::empty({static_cast<int64_t>(kernels::generate_workspace_floats(n))}, DType::F32, Device::CUDA);
  Tensor d_logits = logits ? Tensor::empty({steps, c.vocab}, DType::F32, Device::CUDA) : Tensor();
  cuda::copy_bytes(d_primer.raw_data(), Device::CUDA, primer.data(), Device::CPU, primer.size() * sizeof(int32_t));
  cuda::copy_bytes(d_banned.raw_data(), Device::CUDA, banned_mask.data(), Device::CPU,
                   banned_mask.size() * sizeof(int32_t));
  Mapped<int32_t> tokens(static_cast<size_t>(length));
  Mapped<int> produced(1);
  *static_cast<volatile int*>(produced.host) = 0;

  kernels::GenerateRun run;
  run.primer = d_primer.data<int32_t>();
  run.primer_length = static_cast<int>(primer.size());
  run.length = static_cast<int>(length);
  run.eos = eos;
  run.banned = d_banned.data<int32_t>();
  run.tokens = tokens.device;
  run.produced = produced.device;
  run.logits = logits ? d_logits.data<float>() : nullptr;
  run.workspace = workspace.data<float>();
  kernels::lstm_generate_launch(plan, n, sampling_of(sampling, seed), run, stream);

  std::vector<int32_t> generated = hand_over(stream, tokens, produced, length, on_token);
  if (logits) {
    logits->resize(static_cast<size_t>(steps) * static_cast<size_t>(c.vocab));
    cuda::copy_bytes(logits->data(), Device::CPU, d_logits.raw_data(), Device::CUDA, logits->size() * sizeof(float));
  }
  return generated;
}

#else

std::string device_generation(const MusicLSTM&) { return "stepped token by token: this build has no CUDA backend"; }

std::optional<std::vector<int32_t>> compose_persistent(const MusicLSTM&, const std::vector<int32_t>&, int64_t,
                                                       const SamplingOptions&, const std::vector<int32_t>&, int32_t,
                                                       uint64_t,
                                                       const std::function<bool(const std::vector<int32_t>&)>&,
                                                       std::vector<float>*) {
  return std::nullopt;
}

#endif

}  // namespace legato::model
