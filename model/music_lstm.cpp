#include "model/music_lstm.h"

#include <functional>
#include <stdexcept>

#include "engine/ops.h"
#include "engine/ops/lstm.h"
#include "kernels/sampling.h"

namespace legato::model {
namespace {

const ModelConfig& validated(const ModelConfig& c) {
  if (c.vocab <= 0) throw std::invalid_argument("model: vocabulary size must be positive");
  if (c.hidden <= 0 || c.layers <= 0 || c.dense <= 0)
    throw std::invalid_argument("model: hidden, layers and dense must be positive");
  if (c.input == InputKind::Embedding && c.embedding_dim <= 0)
    throw std::invalid_argument("model: embedding input needs a positive embedding dimension");
  if (!(c.dropout >= 0 && c.dropout < 1)) throw std::invalid_argument("model: dropout must be in [0, 1)");
  return c;
}

// The scalar input of a token, as the seed fed Keras (one formula with the persistent kernel).
double scalar_input(int32_t token, int64_t vocab) { return kernels::scalar_token_input(token, vocab); }

void check_token(int32_t token, int64_t vocab) {
  if (token < 0 || token >= vocab)
    throw std::out_of_range("model: token " + std::to_string(token) + " outside the vocabulary of " +
                            std::to_string(vocab));
}

Tensor apply_dropout(const Tensor& x, double p, bool training, DropoutStream& stream) {
  if (!training || p == 0) return x;
  Tensor y = ops::dropout(x, p, true, stream.seed, stream.offset, stream.slice);
  stream.offset += stream.slice.whole_numel(x.numel());
  return y;
}

}  // namespace

MusicLSTM::MusicLSTM(const ModelConfig& config, nn::Init init)
    : config_(validated(config)),
      embedding_(config.input == InputKind::Embedding
                     ? nn::Embedding(config.vocab, config.embedding_dim, config.seed, config.dtype, init)
                     : nn::Embedding()),
      lstm_(config.input == InputKind::Embedding ? config.embedding_dim : 1, config.hidden, config.layers,
            config.seed + 100, config.dtype, init),
      dense1_(config.hidden, config.dense, config.seed + 200, config.dtype, init),
      dense2_(config.dense, config.vocab, config.seed + 300, config.dtype, init) {}

Tensor MusicLSTM::embed(const Tensor& tokens) const {
  if (tokens.dtype() != DType::I32 || tokens.ndim() != 2)
    throw std::invalid_argument("model: tokens must be int32 [T, B], got " + tokens.describe());
  if (config_.input == InputKind::Embedding)
    return embedding_(tokens.device() == device_ ? tokens : tokens.to(device_));
  // The seed's input: index / vocabulary size, one feature per step.
  Tensor x = Tensor::empty({tokens.dim(0), tokens.dim(1), 1}, config_.dtype);
  const Tensor host_tokens = tokens.device() == Device::CPU ? tokens : tokens.to(Device::CPU);
  const int32_t* t = host_tokens.data<int32_t>();
  for (int64_t k = 0; k < tokens.numel(); ++k) {
    check_token(t[k], config_.vocab);
    const double value = scalar_input(t[k], config_.vocab);
    if (config_.dtype == DType::F32)
      x.data<float>()[k] = static_cast<float>(value);
    else
      x.data<double>()[k] = value;
  }
  return device_ == Device::CPU ? x : x.to(device_);
}

Tensor MusicLSTM::embed_token(int32_t token) const {
  check_token(token, config_.vocab);
  if (config_.input == InputKind::Embedding) return embedding_.weight.rows(token, 1);
  return Tensor::full({1, 1}, scalar_input(token, config_.vocab), config_.dtype, device_);
}

void MusicLSTM::set_precision(Precision precision) {
  check_precision(precision, device_);
  precision_ = precision;
}

Tensor MusicLSTM::head(const Tensor& lstm_out, bool training, DropoutStream& dropout) const {
  return head(
      lstm_out, training, dropout, [&](const Tensor& x) { return dense1_(x, precision_); },
      [&](const Tensor& x) { return dense2_(x, precision_); });
}

Tensor MusicLSTM::head(const Tensor& lstm_out, bool training, DropoutStream& dropout, const Dense& dense1,
                       const Dense& dense2) const {
  Tensor hidden = dense1(lstm_out);
  if (config_.dense_relu) hidden = ops::relu(hidden);
  hidden = apply_dropout(hidden, config_.dropout, training, dropout);
  return dense2(hidden);
}

Tensor MusicLSTM::forward(const Tensor& tokens, bool last_only, bool training, DropoutStream& dropout) const {
  Tensor x = embed(tokens);
  // The layers and the dropout between them as one op: on the GPU a wavefront across layers.
  ops::LstmStackOptions stack;
  stack.dropout = training ? config_.dropout : 0.0;
  stack.seed = dropout.seed;
  stack.offset = dropout.offset;
  stack.slice = dropout.slice;
  stack.last_only = last_only;
  stack.precision = precision_;
  x = ops::lstm_stack(x, lstm_.layers, stack);
  if (stack.dropout > 0)  // each layer below the top used T*B*H numbers of the stream
    dropout.offset += static_cast<uint64_t>(lstm_.layers.size() - 1) * dropout.slice.whole_numel(tokens.numel()) *
                      static_cast<uint64_t>(config_.hidden);
  if (!last_only) x = ops::reshape(x, {x.dim(0) * x.dim(1), x.dim(2)});  // [T * B, H]
  return head(x, training, dropout);
}

void MusicLSTM::to(Device device) {
  check_precision(precision_, device);  // before anything moves: a refusal changes nothing
  auto move = [&](Tensor& t) {
    if (!t.defined() || t.device() == device) return;
    Tensor moved = t.to(device);
    moved.set_requires_grad(true);
    t = moved;
  };
  move(embedding_.weight);
  for (ops::LstmWeights& w : lstm_.layers)
    for (Tensor* t : {&w.w_ih, &w.w_hh, &w.b_ih, &w.b_hh}) move(*t);
  for (nn::Linear* l : {&dense1_, &dense2_}) {
    move(l->weight);
    move(l->bias);
  }
  device_ = device;
}

nn::ParameterList MusicLSTM::parameters() const {
  nn::ParameterList list;
  if (config_.input == InputKind::Embedding) list = embedding_.parameters("embedding.");
  for (auto& p : lstm_.parameters("lstm.")) list.push_back(p);
  for (auto& p : dense1_.parameters("dense1.")) list.push_back(p);
  for (auto& p : dense2_.parameters("dense2.")) list.push_back(p);
  return list;
}

}  // namespace legato::model
