#include "engine/generate.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "engine/cuda/runtime.h"
#include "kernels/cuda_check.h"

namespace legato {
namespace {

kernels::GenerateNetwork network_of(const GenerateWeights& w) {
  kernels::GenerateNetwork n;
  n.layers = static_cast<int>(w.layers.size());
  n.hidden = static_cast<int>(w.layers.at(0).hidden());
  n.dense = static_cast<int>(w.dense1_w.dim(0));
  n.vocab = static_cast<int>(w.dense2_w.dim(0));
  n.dense_relu = w.dense_relu;
  n.input = static_cast<int>(w.layers.at(0).input());
  if (w.embedding.defined()) n.embedding = w.embedding.data<float>();
  for (int k = 0; k < n.layers && k < kernels::kMaxGenerateLayers; ++k) {
    const ops::LstmWeights& l = w.layers[static_cast<size_t>(k)];
    n.layer[k] = {l.w_ih.data<float>(), l.w_hh.data<float>(), l.b_ih.data<float>(), l.b_hh.data<float>()};
  }
  n.dense1_w = w.dense1_w.data<float>();
  n.dense1_b = w.dense1_b.data<float>();
  n.dense2_w = w.dense2_w.data<float>();
  n.dense2_b = w.dense2_b.data<float>();
  n.head_folded = w.head_folded;
  return n;
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

std::string generation_problem(const GenerateWeights& w, kernels::GeneratePlan* plan) {
  if (w.layers.empty() || w.dense2_w.device() != Device::CUDA) return "the network is not on the GPU";
  if (w.dense2_w.dtype() != DType::F32) return "float32 networks only";
  const int64_t hidden = w.layers[0].hidden(), dense = w.dense1_w.dim(0), vocab = w.dense2_w.dim(0);
  if (static_cast<int>(w.layers.size()) > kernels::kMaxGenerateLayers || vocab > kernels::kMaxGenerateVocab ||
      hidden > (1 << 20) || dense > (1 << 20))
    return "1 to 4 layers and vocabularies up to 2048 only";
  *plan = kernels::plan_generation_on_device(network_of(w));
  return plan->blocks > 0 ? "" : plan->why;
}

std::vector<int32_t> generate_on_device(const GenerateWeights& w, const kernels::GeneratePlan& plan,
                                        const std::vector<int32_t>& primer, int64_t length,
                                        const kernels::GenerateSampling& sampling, const std::vector<int32_t>& banned,
                                        int32_t eos, const std::function<bool(const std::vector<int32_t>&)>& on_token,
                                        std::vector<float>* logits) {
  const kernels::GenerateNetwork n = network_of(w);
  const int steps = static_cast<int>(primer.size() + static_cast<size_t>(length));
  std::vector<int32_t> banned_mask(static_cast<size_t>(n.vocab), 0);
  for (int32_t b : banned)
    if (b >= 0 && b < n.vocab) banned_mask[static_cast<size_t>(b)] = 1;

  const cudaStream_t stream = cuda::stream();
  Tensor d_primer = Tensor::empty({static_cast<int64_t>(primer.size())}, DType::I32, Device::CUDA);
  Tensor d_banned = Tensor::empty({n.vocab}, DType::I32, Device::CUDA);
  Tensor workspace =
      Tensor::empty({static_cast<int64_t>(kernels::generate_workspace_floats(n))}, DType::F32, Device::CUDA);
  Tensor d_logits = logits ? Tensor::empty({steps, n.vocab}, DType::F32, Device::CUDA) : Tensor();
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
  kernels::lstm_generate_launch(plan, n, sampling, run, stream);

  std::vector<int32_t> generated = hand_over(stream, tokens, produced, length, on_token);
  if (logits) {
    logits->resize(static_cast<size_t>(steps) * static_cast<size_t>(n.vocab));
    cuda::copy_bytes(logits->data(), Device::CPU, d_logits.raw_data(), Device::CUDA, logits->size() * sizeof(float));
  }
  return generated;
}

}  // namespace legato
