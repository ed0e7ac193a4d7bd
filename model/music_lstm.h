#pragma once
// MusicLSTM: tokens -> (scalar or embedding input) -> L stacked LSTM layers with dropout between
// them -> dense hidden layer (optional ReLU) -> dropout -> dense to the vocabulary (logits).
// Parameter names follow the equivalent PyTorch module's state_dict: embedding.weight,
// lstm.weight_ih_l{k} ..., dense1.weight, dense1.bias, dense2.weight, dense2.bias.
#include <cstdint>
#include <functional>
#include <string>

#include "engine/batch_slice.h"
#include "engine/nn/layers.h"
#include "engine/precision.h"
#include "engine/tensor.h"

namespace legato::model {

enum class InputKind { Scalar, Embedding };

struct ModelConfig {
  int64_t vocab = 0;
  InputKind input = InputKind::Scalar;  // Scalar: token / vocab, as the seed fed Keras
  int64_t embedding_dim = 0;            // used with InputKind::Embedding
  int64_t hidden = 512;
  int layers = 3;
  double dropout = 0.3;  // after every LSTM layer but the last, and after the dense hidden layer
  int64_t dense = 256;
  bool dense_relu = false;
  DType dtype = DType::F32;
  uint64_t seed = 1;  // initialisation
};

// Where dropout masks come from: Philox stream `seed`, advanced by every mask drawn, so a step's
// masks are reproducible (and resumable) from (seed, offset).
// With `slice`, the batch is a part of one other ranks share (dist/): the offset then advances,
// and each mask is drawn, as for the whole batch, so a window's masks do not depend on the split.
struct DropoutStream {
  uint64_t seed = 0;
  uint64_t offset = 0;
  ops::BatchSlice slice;
};

class MusicLSTM {
 public:
  // Uninitialised: for weights a checkpoint overwrites at once (load_checkpoint, --resume).
  explicit MusicLSTM(const ModelConfig& config, nn::Init init = nn::Init::Random);
  const ModelConfig& config() const { return config_; }
  // The precision of this model's matrix products (engine/precision.h), training and generating:
  // its own, so that models at different precisions run side by side. fp32 until set; a
  // precision its device cannot run is refused (std::invalid_argument, one line), here and in to().
  void set_precision(Precision precision);
  Precision precision() const { return precision_; }

  // tokens: int32 [T, B]. Returns logits [B, V] (last_only: the prediction after the window) or
  // [T * B, V] (a prediction at every step, row t * B + b). training enables dropout.
  // forward = embed, the LSTM layers (dropout between them), head.
  Tensor forward(const Tensor& tokens, bool last_only, bool training, DropoutStream& dropout) const;
  // The LSTM's input for tokens [T, B]: [T, B, 1] scaled indices, or [T, B, E] embeddings.
  Tensor embed(const Tensor& tokens) const;
  // One token's input [1, I] on this device, the row embed() gives it, for generation: no graph,
  // and no copy for embeddings (a view of the table: read only).
  Tensor embed_token(int32_t token) const;
  // The layers after the LSTM: its outputs [N, H] -> dense1 (+ ReLU) -> dropout (when training)
  // -> dense2 -> logits [N, V]. Training calls it on every step's output, generation on one.
  Tensor head(const Tensor& lstm_out, bool training, DropoutStream& dropout) const;
  // The same head with other forms of dense1 and dense2: generation's packed ones
  // (ops::LinearStepWeights), which must hold this model's weights.
  using Dense = std::function<Tensor(const Tensor&)>;
  Tensor head(const Tensor& lstm_out, bool training, DropoutStream& dropout, const Dense& dense1,
              const Dense& dense2) const;

  nn::ParameterList parameters() const;
  // Moves every parameter to `device` (new leaf tensors: build the optimiser afterwards).
  // Inputs are moved by forward() and embed(); logits come back on this device.
  void to(Device device);
  Device device() const { return device_; }
  const nn::StackedLstm& lstm() const { return lstm_; }
  const nn::Embedding& embedding() const { return embedding_; }
  const nn::Linear& dense1() const { return dense1_; }
  const nn::Linear& dense2() const { return dense2_; }

 private:
  ModelConfig config_;
  Device device_ = Device::CPU;
  Precision precision_ = Precision::FP32;
  nn::Embedding embedding_;
  nn::StackedLstm lstm_;
  nn::Linear dense1_, dense2_;
};

}  // namespace legato::model
