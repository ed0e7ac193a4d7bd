#pragma once
// The seed's network and one training step of it, shared by the benchmarks: scalar input,
// LSTM(512) x3 with Dropout(0.3) after the first two, Dense(256), Dropout(0.3), Dense(V),
// softmax, Keras' categorical cross-entropy on the last step, RMSprop.
#include <cstdint>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "model/music_lstm.h"

namespace legato::bench {

struct SeedShape {
  int64_t vocab = 279, hidden = 512, dense = 256, batch = 64, steps = 100;
  int layers = 3;
};

inline model::ModelConfig seed_config(const SeedShape& s) {
  model::ModelConfig c;
  c.vocab = s.vocab;
  c.input = model::InputKind::Scalar;
  c.hidden = s.hidden;
  c.layers = s.layers;
  c.dropout = 0.3;
  c.dense = s.dense;
  c.dtype = DType::F32;
  return c;
}

// Multiply-adds counted twice; pointwise work not counted (the GEMMs dominate).
inline double lstm_layer_forward_flops(const SeedShape& s, int64_t input) {
  return 2.0 * s.steps * s.batch * 4 * s.hidden * (input + s.hidden);
}
inline double seed_forward_flops(const SeedShape& s) {
  double f = 0;
  for (int k = 0; k < s.layers; ++k) f += lstm_layer_forward_flops(s, k == 0 ? 1 : s.hidden);
  return f + 2.0 * s.batch * (s.hidden * s.dense + s.dense * s.vocab);
}
// Backward: per layer the recurrent products (T-1 steps, no h0), dW_ih, dW_hh, and dx for every
// layer but the first (whose input takes no gradient); the dense layers twice their forward.
inline double seed_train_flops(const SeedShape& s) {
  double f = seed_forward_flops(s);
  for (int k = 0; k < s.layers; ++k) {
    const double in = k == 0 ? 1 : s.hidden, g = 4.0 * s.hidden;
    f += 2.0 * (s.steps - 1) * s.batch * g * s.hidden * 2;  // dh recurrence and dW_hh
    f += 2.0 * s.steps * s.batch * g * in;                  // dW_ih
    if (k > 0) f += 2.0 * s.steps * s.batch * g * in;       // dx
  }
  return f + 2 * 2.0 * s.batch * (s.hidden * s.dense + s.dense * s.vocab);
}

// Holds the network (its products at `precision`), optimiser and a fixed batch; step() is one
// whole training step.
class SeedTrainer {
 public:
  explicit SeedTrainer(const SeedShape& s, Precision precision = Precision::FP32)
      : shape_(s), net_(seed_config(s)), opt_(net_.parameters()) {
    net_.set_precision(precision);
    std::vector<int32_t> tokens(static_cast<size_t>(s.steps * s.batch)), targets(static_cast<size_t>(s.batch));
    for (size_t k = 0; k < tokens.size(); ++k) tokens[k] = static_cast<int32_t>((k * 7919) % s.vocab);
    for (size_t k = 0; k < targets.size(); ++k) targets[k] = static_cast<int32_t>((k * 104729) % s.vocab);
    tokens_ = Tensor::from_indices({s.steps, s.batch}, tokens);
    targets_ = Tensor::from_indices({s.batch}, targets);
  }
  double step() {
    Tensor loss = ops::cross_entropy_probs(ops::softmax(net_.forward(tokens_, true, true, dropout_)), targets_);
    loss.backward();
    opt_.step();
    opt_.zero_grad();
    return loss.item();
  }
  Tensor forward() {
    NoGradGuard guard;
    return net_.forward(tokens_, true, false, dropout_);
  }

 private:
  SeedShape shape_;
  model::MusicLSTM net_;
  optim::Rmsprop opt_;
  model::DropoutStream dropout_{1, 0, {}};
  Tensor tokens_, targets_;
};

}  // namespace legato::bench
