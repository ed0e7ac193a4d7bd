#pragma once
// A whole piece in one launch on the GPU, from an LSTM's weights: the persistent kernel
// (kernels/lstm_persistent.h) runs the primer and the piece on the device, sampling there,
// and only tokens come back (into mapped host memory, handed over as they are made). The host
// half is engine/cuda/generate.cpp; engine/without_cuda.cpp answers in builds without the backend.
// model::compose_persistent builds the weights from a MusicLSTM and checks the request first.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/ops/lstm.h"
#include "kernels/lstm_persistent.h"

namespace legato {

// The network the kernel runs: LSTM layers over an embedding (or the scalar input token / V),
// dense1 (+ ReLU) and dense2 to the logits; float32 tensors on the GPU.
struct GenerateWeights {
  Tensor embedding;                      // [V, E]; undefined: the scalar input
  std::vector<ops::LstmWeights> layers;  // each [4H, I_l], [4H, H], [4H], [4H]
  Tensor dense1_w, dense1_b;             // [D, H], [D]
  Tensor dense2_w, dense2_b;             // [V, D], [V]; with head_folded: W2 W1 [V, H], W2 b1 + b2 [V]
  bool dense_relu = false;
  bool head_folded = false;  // only where no activation lies between dense1 and dense2
};

// Why the kernel cannot run `weights` on this machine ("" when it can: then *plan says how).
std::string generation_problem(const GenerateWeights& weights, kernels::GeneratePlan* plan);

// The piece: `primer` (checked tokens, at least one) fed first, then up to `length` tokens sampled
// with `sampling` (checked), never a token of `banned`, ending at `eos` (-1: none). `on_token`
// sees the tokens so far as they come and may say stop; `logits`, when given, receives every
// step's logits [primer + length, V]. `plan`: from generation_problem on the same weights.
std::vector<int32_t> generate_on_device(const GenerateWeights& weights, const kernels::GeneratePlan& plan,
                                        const std::vector<int32_t>& primer, int64_t length,
                                        const kernels::GenerateSampling& sampling, const std::vector<int32_t>& banned,
                                        int32_t eos, const std::function<bool(const std::vector<int32_t>&)>& on_token,
                                        std::vector<float>* logits);

}  // namespace legato
