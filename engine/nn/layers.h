#pragma once
// Layers that own named parameters. Names follow the state_dict of the equivalent PyTorch
// module (torch.nn.LSTM, nn.Linear, nn.Embedding) so checkpoints can be exchanged with PyTorch.
#include <string>
#include <vector>

#include "engine/ops/lstm.h"
#include "engine/tensor.h"

namespace legato::nn {

struct NamedTensor {
  std::string name;
  Tensor tensor;
};
using ParameterList = std::vector<NamedTensor>;

// Random: as Keras initialises each layer. Uninitialised: storage only, for weights a checkpoint
// overwrites at once (the orthogonal initialisation alone takes a second for the seed network).
enum class Init { Random, Uninitialised };

// A stack of LSTM layers: layer k has weight_ih_l{k} [4H, in], weight_hh_l{k} [4H, H],
// bias_ih_l{k} and bias_hh_l{k} [4H]. Initialised as Keras: Glorot-uniform W_ih, orthogonal
// W_hh, zero biases but the forget gate's 1 (in b_ih, so b_ih + b_hh matches Keras' one bias).
struct StackedLstm {
  std::vector<ops::LstmWeights> layers;

  StackedLstm() = default;
  StackedLstm(int64_t input, int64_t hidden, int num_layers, uint64_t seed, DType dtype = DType::F32,
              Init init = Init::Random);
  int64_t hidden() const { return layers.at(0).hidden(); }
  ParameterList parameters(const std::string& prefix) const;
};

// y = x W^T + b; weight [out, in] Glorot uniform, bias [out] zero (Keras' Dense).
struct Linear {
  Tensor weight, bias;

  Linear() = default;
  Linear(int64_t in, int64_t out, uint64_t seed, DType dtype = DType::F32, Init init = Init::Random);
  // x: [N, in] -> [N, out]; precision: of the product (engine/precision.h).
  Tensor operator()(const Tensor& x, Precision precision = Precision::FP32) const;
  ParameterList parameters(const std::string& prefix) const;
};

// weight [V, E], uniform in [-0.05, 0.05] (Keras' Embedding).
struct Embedding {
  Tensor weight;

  Embedding() = default;
  Embedding(int64_t vocab, int64_t width, uint64_t seed, DType dtype = DType::F32, Init init = Init::Random);
  Tensor operator()(const Tensor& indices) const;  // int32 [S...] -> [S..., E]
  ParameterList parameters(const std::string& prefix) const;
};

}  // namespace legato::nn
