// The whole network as one gradient check: input -> 3 LSTM layers -> dropout (fixed mask) ->
// dense -> dense -> softmax -> cross-entropy, every parameter checked.
#include <doctest/doctest.h>

#include "engine/allocator.h"
#include "engine/cpu/products.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "gradcheck.h"
#include "model/music_lstm.h"

using namespace legato;
using V = std::vector<Tensor>;

namespace {

model::ModelConfig small_config(model::InputKind input) {
  model::ModelConfig c;
  c.vocab = 7;
  c.input = input;
  c.embedding_dim = 3;
  c.hidden = 4;
  c.layers = 3;
  c.dropout = 0.3;
  c.dense = 5;
  c.dense_relu = false;
  c.dtype = DType::F64;
  c.seed = 11;
  return c;
}

V tensors_of(const nn::ParameterList& params) {
  V out;
  for (const auto& p : params) out.push_back(p.tensor);
  return out;
}

}  // namespace

TEST_CASE("gradcheck: whole stack, scalar input, last step, softmax + Keras cross-entropy (the seed)") {
  const model::MusicLSTM net(small_config(model::InputKind::Scalar));
  const Tensor tokens = Tensor::from_indices({5, 2}, {0, 3, 6, 1, 2, 2, 5, 4, 1, 0});  // [T, B]
  const Tensor targets = Tensor::from_indices({2}, {4, 6});
  const auto loss = [&](const V&) {
    model::DropoutStream masks{99, 0, {}};  // the same masks at every evaluation
    return V{ops::cross_entropy_probs(ops::softmax(net.forward(tokens, true, true, masks)), targets)};
  };
  CHECK_GRADIENTS(loss, tensors_of(net.parameters()));
}

TEST_CASE("gradcheck: whole stack, embedding input, every step, fused cross-entropy on logits") {
  model::ModelConfig config = small_config(model::InputKind::Embedding);
  config.dense_relu = true;
  const model::MusicLSTM net(config);
  const Tensor tokens = Tensor::from_indices({3, 2}, {0, 3, 6, 1, 2, 2});
  const Tensor targets = Tensor::from_indices({6}, {3, 6, 1, 2, 2, 5});
  const auto loss = [&](const V&) {
    model::DropoutStream masks{7, 0, {}};
    return V{ops::cross_entropy_logits(net.forward(tokens, false, true, masks), targets)};
  };
  CHECK_GRADIENTS(loss, tensors_of(net.parameters()));
}

TEST_CASE("model: parameter names follow PyTorch's state_dict") {
  const model::MusicLSTM net(small_config(model::InputKind::Embedding));
  std::vector<std::string> names;
  for (const auto& p : net.parameters()) names.push_back(p.name);
  REQUIRE(names.size() == 1 + 12 + 4);
  CHECK(names.front() == "embedding.weight");
  CHECK(names[1] == "lstm.weight_ih_l0");
  CHECK(names[12] == "lstm.bias_hh_l2");
  CHECK(names[13] == "dense1.weight");
  CHECK(names.back() == "dense2.bias");
  CHECK(net.parameters()[13].tensor.shape() == Shape{5, 4});  // dense1.weight [256, H] in the seed
}

// At bf16 too, where the LSTM keeps bf16 copies of its operands from the forward for the
// backward (engine/ops/lstm.cpp's Bf16Copies): they come from the same cache and go back to it.
TEST_CASE("model: a repeated training step allocates nothing from the system") {
  for (Precision precision : {Precision::FP32, Precision::BF16}) {
    if (precision == Precision::BF16 && !cpu::bf16_supported()) continue;
    CAPTURE(to_string(precision));
    model::ModelConfig config = small_config(model::InputKind::Scalar);
    config.dtype = DType::F32;
    model::MusicLSTM net(config);
    net.set_precision(precision);
    optim::Rmsprop opt(net.parameters());
    model::DropoutStream masks{3, 0, {}};
    const Tensor tokens = Tensor::from_indices({5, 2}, {0, 3, 6, 1, 2, 2, 5, 4, 1, 0});
    const Tensor targets = Tensor::from_indices({2}, {4, 6});
    auto step = [&] {
      Tensor loss = ops::cross_entropy_probs(ops::softmax(net.forward(tokens, true, true, masks)), targets);
      loss.backward();
      opt.step();
      opt.zero_grad();
    };
    step();  // the first step fills the allocator's cache
    const size_t before = host_system_allocations();
    step();
    step();
    CHECK(host_system_allocations() == before);
  }
}
