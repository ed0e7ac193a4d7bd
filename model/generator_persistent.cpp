#include "model/generator_persistent.h"

#include <stdexcept>

#include "engine/autograd.h"
#include "engine/generate.h"
#include "engine/ops.h"

namespace legato::model {
namespace {

// The network as the persistent kernel takes it (dense2 as it is: see fold_head).
GenerateWeights weights_of(const MusicLSTM& net) {
  const ModelConfig& c = net.config();
  GenerateWeights w;
  if (c.input == InputKind::Embedding) w.embedding = net.embedding().weight;
  w.layers = net.lstm().layers;
  w.dense1_w = net.dense1().weight;
  w.dense1_b = net.dense1().bias;
  w.dense2_w = net.dense2().weight;
  w.dense2_b = net.dense2().bias;
  w.dense_relu = c.dense_relu;
  w.head_folded = !c.dense_relu;  // the matrices come from fold_head, made for each piece
  return w;
}

// dense2 and dense1 as one layer where no activation lies between them (the seed preset):
// weight W2 W1 [V, H], bias W2 b1 + b2 [V], on the device. Mathematically the same head in one
// matrix-vector product, so the kernel's tokens take one grid barrier fewer.
void fold_head(const MusicLSTM& net, GenerateWeights& w) {
  NoGradGuard no_grad;
  const Tensor& w1 = net.dense1().weight;  // [D, H]
  const Tensor& w2 = net.dense2().weight;  // [V, D]
  const Tensor b1 = ops::reshape(net.dense1().bias, {w1.shape()[0], 1});
  // At the model's precision, as every product of its head (tf32 on a GPU that was asked for it).
  const Tensor w2b1 = ops::reshape(ops::matmul(w2, b1, false, false, net.precision()), {w2.shape()[0]});
  w.dense2_w = ops::matmul(w2, w1, false, false, net.precision());
  w.dense2_b = ops::add(w2b1, net.dense2().bias);
}

kernels::GenerateSampling sampling_of(const SamplingOptions& sampling, uint64_t seed) {
  kernels::GenerateSampling s;
  s.temperature = sampling.temperature;
  s.top_k = sampling.top_k;
  s.top_p = sampling.top_p;
  s.greedy = sampling.greedy;
  s.seed = seed;
  return s;
}

}  // namespace

std::string device_generation(const MusicLSTM& net) {
  kernels::GeneratePlan plan;
  if (const std::string why = generation_problem(weights_of(net), &plan); !why.empty())
    return "stepped token by token: " + why;
  return "persistent kernel: " + std::to_string(plan.blocks) + " blocks x " + std::to_string(plan.threads) +
         " threads, " + std::to_string((plan.shared_bytes + 1023) / 1024) + " KiB of shared memory each";
}

std::optional<std::vector<int32_t>> compose_persistent(const MusicLSTM& net, const std::vector<int32_t>& primer,
                                                       int64_t length, const SamplingOptions& sampling,
                                                       const std::vector<int32_t>& banned, int32_t eos, uint64_t seed,
                                                       const std::function<bool(const std::vector<int32_t>&)>& on_token,
                                                       std::vector<float>* logits) {
  GenerateWeights weights = weights_of(net);
  kernels::GeneratePlan plan;
  if (!generation_problem(weights, &plan).empty()) return std::nullopt;
  const ModelConfig& c = net.config();
  if (primer.empty()) throw std::invalid_argument("compose: the primer is empty");
  if (length < 0 || length > (1 << 30)) throw std::invalid_argument("compose: length out of range");
  check_sampling(sampling);  // the CPU's checks (model::sample_token), before anything runs
  for (int32_t t : primer)
    if (t < 0 || t >= c.vocab)
      throw std::out_of_range("compose: primer token " + std::to_string(t) + " outside the vocabulary");
  if (weights.head_folded) fold_head(net, weights);  // alive until the piece is made (below)
  return generate_on_device(weights, plan, primer, length, sampling_of(sampling, seed), banned, eos, on_token, logits);
}

}  // namespace legato::model
