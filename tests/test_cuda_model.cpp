// The layers above the ops on CUDA: the optimisers' fused multi-tensor steps and gradient
// clipping against the CPU in float64; a MusicLSTM trained three steps on the GPU against the same
// three steps on the CPU; generation from a GPU model; a checkpoint saved from one. Skipped,
// visibly, without a GPU.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/tensor.h"
#include "gpu.h"
#include "model/checkpoint.h"
#include "model/generator.h"
#include "model/music_lstm.h"
#include "temp_dir.h"

using namespace legato;
using legato::testing::check_close;
using legato::testing::to_gpu;
using legato::testing::Tolerance;

namespace {

// The same parameters twice: float64 on the CPU and float32 on the GPU, each with a fixed
// gradient (set directly, as an optimiser finds it after backward). 37 parameters: more than the
// 32 slots of one fused launch; sizes around the kernels' 2048-element chunks; one empty; one
// (number 10) without a gradient, which every step must leave alone. Gradients of every third
// parameter are ~1e-3, so that eps and small values are exercised as well.
struct Parameters {
  nn::ParameterList cpu, gpu;
};

constexpr size_t kNoGradient = 10;

Parameters many_parameters(uint64_t seed) {
  const int64_t sizes[] = {1, 7, 2047, 2048, 2049, 5000, 0, 33 * 45};
  Parameters p;
  for (size_t k = 0; k < 37; ++k) {
    const int64_t n = sizes[k % 8];
    const std::string name = std::to_string(k).insert(0, 1, 'p');  // ("p" + s trips GCC 12's -Wrestrict)
    Tensor w = Tensor::uniform({n}, -1, 1, seed + k, DType::F64).set_requires_grad(true);
    Tensor w_gpu = to_gpu(w);
    if (k != kNoGradient) {
      const double scale = k % 3 == 0 ? 1e-3 : 1.0;
      const Tensor g = Tensor::uniform({n}, -scale, scale, seed + 1000 + k, DType::F64);
      w.impl()->grad = g.impl_ptr();
      w_gpu.impl()->grad = to_gpu(g).impl_ptr();
    }
    p.cpu.push_back({name, w});
    p.gpu.push_back({name, w_gpu});
  }
  return p;
}

// Compares parameter (or optimiser slot) lists element by element.
void check_lists(const std::string& what, const nn::ParameterList& got, const nn::ParameterList& ref, Tolerance tol) {
  REQUIRE(got.size() == ref.size());
  for (size_t k = 0; k < got.size(); ++k) {
    CHECK(got[k].name == ref[k].name);
    check_close(what + " " + ref[k].name, got[k].tensor.to_vector(), ref[k].tensor.to_vector(), tol);
  }
}

// Parameters: rounded to float32 (6e-8 relative), then three updates of size <= ~lr * 3, each
// computed in float32 from the same float32 state: ~3e-7 relative at most; atol 1e-6 + rtol 1e-5.
// Slots (v ~ g^2 down to ~1e-12, m ~ g): a few float32 roundings, rtol 1e-5, atol 1e-12 ...
constexpr Tolerance kParams{1e-6, 1e-5};
constexpr Tolerance kSlots{1e-12, 1e-5};
// ... except Adam's second moment: the update takes beta2 in float32, and 1 - 0.999f is
// 9.9998713e-4, 1.3e-5 away from 1e-3 in relative terms (by design: the float32 CPU optimiser does
// the same). v carries that factor: rtol 1e-4. (It moves the parameters by only ~6e-6 of an update.)
constexpr Tolerance kAdamSecondMoment{1e-12, 1e-4};

}  // namespace

TEST_CASE("cuda: rmsprop and adam, fused over many parameters, match the CPU float64 optimisers") {
  SKIP_WITHOUT_GPU();
  {
    const Parameters p = many_parameters(1);
    const optim::RmspropOptions options{0.01, 0.9, 1e-7};
    optim::Rmsprop cpu(p.cpu, options), gpu(p.gpu, options);
    for (int step = 0; step < 3; ++step) {
      cpu.step();
      gpu.step();
    }
    CHECK(p.gpu[0].tensor.device() == Device::CUDA);
    check_lists("rmsprop parameter", p.gpu, p.cpu, kParams);
    check_lists("rmsprop mean square", gpu.state()[0], cpu.state()[0], kSlots);
    // The parameter without a gradient is untouched (exactly its float32 copy).
    check_close("rmsprop, no gradient", p.gpu[kNoGradient].tensor.to_vector(),
                p.cpu[kNoGradient].tensor.to(DType::F32).to_vector(), Tolerance{0, 0});
  }
  {
    const Parameters p = many_parameters(2);
    const optim::AdamOptions options{0.01, 0.9, 0.999, 1e-7};
    optim::Adam cpu(p.cpu, options), gpu(p.gpu, options);
    for (int step = 0; step < 3; ++step) {
      cpu.step();
      gpu.step();
    }
    CHECK(gpu.steps_taken() == 3);
    check_lists("adam parameter", p.gpu, p.cpu, kParams);
    check_lists("adam first moment", gpu.state()[0], cpu.state()[0], kSlots);
    check_lists("adam second moment", gpu.state()[1], cpu.state()[1], kAdamSecondMoment);
    check_close("adam, no gradient", p.gpu[kNoGradient].tensor.to_vector(),
                p.cpu[kNoGradient].tensor.to(DType::F32).to_vector(), Tolerance{0, 0});
  }
}

TEST_CASE("cuda: clip_grad_norm gives the CPU's norm and clips the same") {
  SKIP_WITHOUT_GPU();
  const Parameters p = many_parameters(3);
  // The norm: a float32 sum of ~58000 squares (block partials, then a fixed tree): relative error
  // ~1e-6; rtol 1e-5.
  const double norm_cpu = optim::clip_grad_norm(p.cpu, 1e9);  // far above: nothing clipped
  const double norm_gpu = optim::clip_grad_norm(p.gpu, 1e9);
  CHECK(norm_gpu == doctest::Approx(norm_cpu).epsilon(1e-5));
  CHECK(norm_cpu > 10);  // ~ sqrt(58000 / 3 * 2 / 3) ~ 110
  // Not clipped: the gradients are exactly their float32 copies.
  for (size_t k = 0; k < p.cpu.size(); ++k)
    if (k != kNoGradient)
      check_close("unclipped gradient " + p.cpu[k].name, p.gpu[k].tensor.grad().to_vector(),
                  p.cpu[k].tensor.grad().to(DType::F32).to_vector(), Tolerance{0, 0});
  // Clipped to a quarter of the norm: g * (max / norm), three float32 roundings: rtol 1e-5.
  const double limit = norm_cpu / 4;
  CHECK(optim::clip_grad_norm(p.gpu, limit) == doctest::Approx(norm_cpu).epsilon(1e-5));
  CHECK(optim::clip_grad_norm(p.cpu, limit) == doctest::Approx(norm_cpu).epsilon(1e-12));
  for (size_t k = 0; k < p.cpu.size(); ++k)
    if (k != kNoGradient)
      check_close("clipped gradient " + p.cpu[k].name, p.gpu[k].tensor.grad().to_vector(),
                  p.cpu[k].tensor.grad().to_vector(), Tolerance{1e-12, 1e-5});
  CHECK_FALSE(p.gpu[kNoGradient].tensor.grad().defined());
  // After clipping, the norm is the limit.
  CHECK(optim::clip_grad_norm(p.gpu, 1e9) == doctest::Approx(limit).epsilon(1e-5));
}

namespace {

model::ModelConfig small_config(model::InputKind input) {
  model::ModelConfig c;
  c.vocab = 20;
  c.input = input;
  c.embedding_dim = 8;
  c.hidden = 24;
  c.layers = 2;
  c.dropout = 0.3;
  c.dense = 16;
  c.dense_relu = input == model::InputKind::Embedding;
  c.dtype = DType::F32;
  c.seed = 9;
  return c;
}

// Three training steps as the trainer takes them (forward with dropout, the fused loss on logits,
// backward, RMSprop, zero_grad) on random batches of 12 steps x 3 sequences; returns the losses.
// The batches and the dropout masks depend only on the fixed seeds, not on the device.
// RMSprop's eps is 1e-3 here (Keras' 1e-7 by default): near g = 0 the update g / (sqrt(v) + eps)
// has slope lr / eps, which with 1e-7 would turn float32 noise in a gradient that happens to be
// ~0 into a visible difference between two correct devices. (Measured on the CPU, float32 against
// float64 over these very steps: the worst parameter used 0.4 of the tolerance below with eps 1e-7,
// 0.02 with eps 1e-3.)
std::vector<double> train_three_steps(model::MusicLSTM& net, bool last_only) {
  optim::Rmsprop opt(net.parameters(), {0.01, 0.9, 1e-3});
  model::DropoutStream dropout{11, 3, {}};
  std::mt19937_64 rng(17);
  std::uniform_int_distribution<int32_t> token(0, 19);
  const int64_t T = 12, B = 3;
  std::vector<double> losses;
  for (int step = 0; step < 3; ++step) {
    std::vector<int32_t> tokens(T * B), targets(last_only ? B : T * B);
    for (int32_t& t : tokens) t = token(rng);
    for (int32_t& t : targets) t = token(rng);
    const Tensor logits = net.forward(Tensor::from_indices({T, B}, tokens), last_only, true, dropout);
    CHECK(logits.device() == net.device());
    Tensor target = Tensor::from_indices({static_cast<int64_t>(targets.size())}, targets);
    if (net.device() != Device::CPU) target = target.to(net.device());
    Tensor loss = ops::cross_entropy_logits(logits, target);
    losses.push_back(loss.item());
    loss.backward();
    opt.step();
    opt.zero_grad();
  }
  CHECK(dropout.offset > 3);  // masks were drawn
  return losses;
}

}  // namespace

TEST_CASE("cuda: three training steps of a MusicLSTM on the GPU match the same steps on the CPU") {
  SKIP_WITHOUT_GPU();
  // Both in float32, so the only differences are orders of summation (cuBLAS, the block
  // reductions) and device expf/tanhf: ~1e-7 relative per op. Losses (~3) atol 1e-5 + rtol 1e-5.
  // Parameters: with eps 1e-3 an update changes by at most lr / eps = 10 times a gradient's error
  // (~1e-9 here), and the parameters start identical: atol 1e-5 + rtol 1e-4, against steps of
  // ~0.02 that a wrong gradient would get wrong.
  for (auto input : {model::InputKind::Scalar, model::InputKind::Embedding}) {
    const bool embedding = input == model::InputKind::Embedding;
    CAPTURE(embedding);
    const bool last_only = !embedding;  // the seed's windows with scalar input; every step with embeddings
    model::MusicLSTM cpu(small_config(input)), gpu(small_config(input));
    const nn::ParameterList initial = cpu.parameters();
    std::vector<std::vector<double>> before;
    for (const auto& p : initial) before.push_back(p.tensor.to_vector());
    gpu.to(Device::CUDA);
    CHECK(gpu.device() == Device::CUDA);
    for (const auto& p : gpu.parameters()) {
      CHECK(p.tensor.device() == Device::CUDA);
      CHECK(p.tensor.requires_grad());
    }
    const std::vector<double> loss_cpu = train_three_steps(cpu, last_only);
    const std::vector<double> loss_gpu = train_three_steps(gpu, last_only);
    check_close("losses", loss_gpu, loss_cpu, Tolerance{1e-5, 1e-5});
    const nn::ParameterList a = gpu.parameters(), b = cpu.parameters();
    REQUIRE(a.size() == b.size());
    double moved = 0;
    for (size_t k = 0; k < a.size(); ++k) {
      CHECK(a[k].name == b[k].name);
      const std::vector<double> got = a[k].tensor.to_vector(), ref = b[k].tensor.to_vector();
      check_close("parameter " + b[k].name, got, ref, Tolerance{1e-5, 1e-4});
      for (size_t e = 0; e < ref.size(); ++e) moved = std::max(moved, std::abs(ref[e] - before[k][e]));
    }
    CHECK(moved > 1e-2);  // the steps did something (each moves a parameter by up to ~0.03)
  }
}

TEST_CASE("cuda: the generator on a GPU model gives the CPU model's logits") {
  SKIP_WITHOUT_GPU();
  // Both float32; a handful of products of <= 24 terms per token and six tokens of recurrence:
  // atol 1e-5 + rtol 1e-4 on logits of size ~0.5.
  for (auto input : {model::InputKind::Scalar, model::InputKind::Embedding}) {
    CAPTURE(input == model::InputKind::Embedding);
    model::MusicLSTM cpu(small_config(input)), gpu(small_config(input));
    gpu.to(Device::CUDA);
    model::Generator gen_cpu(cpu), gen_gpu(gpu);
    for (int32_t token : {3, 17, 0, 5, 5, 12, 19}) {
      CAPTURE(token);
      const Tensor ref = gen_cpu.feed(token);
      const Tensor& got = gen_gpu.feed(token);
      CHECK(got.device() == Device::CPU);  // the logits come back to the host for sampling
      REQUIRE(got.shape() == ref.shape());
      check_close("logits", got.to_vector(), ref.to_vector(), Tolerance{1e-5, 1e-4});
    }
    gen_gpu.reset();
    gen_cpu.reset();
    check_close("logits after reset", gen_gpu.feed(7).to_vector(), gen_cpu.feed(7).to_vector(), Tolerance{1e-5, 1e-4});
  }
}

TEST_CASE("cuda: a checkpoint saved from a GPU model loads with the very same parameters") {
  SKIP_WITHOUT_GPU();
  const auto dir = legato::testing::temp_dir("cuda_checkpoint");
  model::CheckpointMeta meta;
  meta.config = small_config(model::InputKind::Embedding);
  for (int k = 0; k < 20; ++k) meta.vocab.push_back(std::to_string(k).insert(0, 1, 't'));
  model::MusicLSTM gpu(meta.config);
  gpu.to(Device::CUDA);
  train_three_steps(gpu, false);  // parameters that exist only on the GPU
  model::save_checkpoint(dir / "gpu.safetensors", gpu, meta);
  const model::LoadedCheckpoint back = model::load_checkpoint(dir / "gpu.safetensors");
  CHECK(back.net->device() == Device::CPU);
  CHECK(model::config_to_json(back.meta) == model::config_to_json(meta));
  const nn::ParameterList a = gpu.parameters(), b = back.net->parameters();
  REQUIRE(a.size() == b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    CAPTURE(a[k].name);
    CHECK(a[k].name == b[k].name);
    const Tensor host = a[k].tensor.to(Device::CPU);
    REQUIRE(b[k].tensor.dtype() == DType::F32);
    REQUIRE(b[k].tensor.shape() == host.shape());
    CHECK(std::memcmp(b[k].tensor.raw_data(), host.raw_data(), static_cast<size_t>(host.numel()) * sizeof(float)) == 0);
  }
  std::filesystem::remove_all(dir);
}
