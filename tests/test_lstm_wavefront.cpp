// The LSTM stack (ops::lstm_stack) on CUDA tensors: the wavefront across layers (one stream per
// layer, events between them; engine/cuda/lstm_wavefront.h) against the same chunks in
// sequential order on one stream, bit for bit, for the output and every gradient (x, and every
// layer's weights and biases); and both against the CPU op in float64. On the emulator the layer
// streams run their queued work in an interleaving drawn from the seed (tests/cuda_emulator/
// emulator.h), so a missing event wait gives a different result under some seed; each case runs
// under several seeds. Skipped, visibly, without a GPU.
//
// Tolerance against the CPU (|cuda - cpu| <= atol + rtol * |cpu|), as test_cuda_lstm.cpp's for
// one layer, the gradients' loosened for up to 4 layers (each adds a float32 backward pass):
//   outputs   atol 1e-5 + rtol 1e-4 (expected error ~1e-6)
//   gradients atol 2e-4 + rtol 2e-3 (expected error ~1e-5)
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "engine/ops.h"
#include "engine/ops/lstm.h"
#include "engine/tensor.h"
#include "gpu.h"
#if defined(LEGATO_EMULATED_GPU)
#include "cuda_emulator/emulator.h"
#endif

using namespace legato;
using legato::testing::check_close;
using legato::testing::to_gpu;
using legato::testing::Tolerance;

namespace {

constexpr Tolerance kOutputs{1e-5, 1e-4};
constexpr Tolerance kGradients{2e-4, 2e-3};

struct Case {
  int64_t T, B, I, H;
  int layers, chunk;
  double dropout;
  bool last_only;
};

// Float64 CPU leaves: x, then per layer W_ih, W_hh, b_ih, b_hh; weights in [-0.3, 0.3).
std::vector<Tensor> stack_inputs(const Case& c, uint64_t seed) {
  auto leaf = [](const Shape& shape, uint64_t s, double scale) {
    return Tensor::uniform(shape, -scale, scale, s, DType::F64).set_requires_grad(true);
  };
  const int64_t G = 4 * c.H;
  std::vector<Tensor> in{leaf({c.T, c.B, c.I}, seed, 1.0)};
  for (int l = 0; l < c.layers; ++l) {
    const uint64_t s = seed + 10 * static_cast<uint64_t>(l + 1);
    in.push_back(leaf({G, l == 0 ? c.I : c.H}, s, 0.3));
    in.push_back(leaf({G, c.H}, s + 1, 0.3));
    in.push_back(leaf({G}, s + 2, 0.3));
    in.push_back(leaf({G}, s + 3, 0.3));
  }
  return in;
}

// The stack's output and every input's gradient of L = <w, y>, as doubles (exact copies of
// float32 values on the GPU, so equal vectors are equal bits).
// part: the windows of a whole batch in[0] holds (a rank's share), the dropout drawn at their places.
std::vector<std::vector<double>> run(const Case& c, const std::vector<Tensor>& in, const Tensor& w, bool sequential,
                                     const ops::BatchSlice& part = {}) {
  for (Tensor t : in) t.zero_grad();  // a handle: the leaf itself
  std::vector<ops::LstmWeights> layers;
  for (int l = 0; l < c.layers; ++l) {
    const size_t k = 1 + 4 * static_cast<size_t>(l);
    layers.push_back({in[k], in[k + 1], in[k + 2], in[k + 3]});
  }
  ops::LstmStackOptions o;
  o.dropout = c.dropout;
  o.seed = 4242;
  o.offset = 17;
  o.last_only = c.last_only;
  o.chunk = c.chunk;
  o.sequential = sequential;
  o.slice = part;
  const Tensor y = ops::lstm_stack(in[0], layers, o);
  ops::sum(ops::mul(y, w)).backward();
  std::vector<std::vector<double>> out{y.to_vector()};
  for (const Tensor& t : in) {
    REQUIRE(t.grad().defined());
    out.push_back(t.grad().to_vector());
  }
  return out;
}

std::string name_of(size_t k) {
  if (k == 0) return "y";
  if (k == 1) return "gradient of x";
  const size_t l = (k - 2) / 4;
  const char* const names[] = {"W_ih", "W_hh", "b_ih", "b_hh"};
  return "gradient of layer " + std::to_string(l) + "'s " + names[(k - 2) % 4];
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

// The first element where two results differ, for the message.
std::string first_difference(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return "sizes " + std::to_string(a.size()) + " and " + std::to_string(b.size());
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(double)) != 0)
      return "element " + std::to_string(i) + ": " + std::to_string(a[i]) + " against " + std::to_string(b[i]);
  return "none";
}

const Case kCases[] = {
    {7, 3, 5, 13, 1, 3, 0.0, false},    // one layer: chunks 3, 3, 1
    {7, 3, 5, 13, 2, 3, 0.4, false},    // dropout between two layers
    {9, 2, 6, 11, 3, 4, 0.0, false},    // three layers, no dropout: the next layer reads hs directly
    {9, 2, 6, 11, 3, 4, 0.3, true},     // the last step only
    {10, 3, 4, 9, 4, 3, 0.5, false},    // four layers, T not a multiple of the chunk
    {5, 1, 1, 7, 2, 1, 0.2, false},     // a chunk per step, batch 1, scalar input
    {6, 2, 3, 5, 2, 6, 0.3, false},     // one chunk: no wavefront, but the same op
    {33, 2, 3, 33, 2, 10, 0.3, false},  // four chunks, H over 32
};

}  // namespace

TEST_CASE("cuda: lstm_stack's wavefront equals its sequential order bit for bit, and the CPU float64 op") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 500;
  for (const Case& c : kCases) {
    CAPTURE(c.T);
    CAPTURE(c.B);
    CAPTURE(c.I);
    CAPTURE(c.H);
    CAPTURE(c.layers);
    CAPTURE(c.chunk);
    CAPTURE(c.dropout);
    CAPTURE(c.last_only);
    seed += 100;
    const std::vector<Tensor> cpu_in = stack_inputs(c, seed);
    std::vector<Tensor> gpu_in;
    for (const Tensor& t : cpu_in) gpu_in.push_back(to_gpu(t));
    const Shape y_shape = c.last_only ? Shape{c.B, c.H} : Shape{c.T, c.B, c.H};
    const Tensor w = Tensor::uniform(y_shape, -1, 1, seed + 99, DType::F64), gpu_w = to_gpu(w);

    const auto ref = run(c, cpu_in, w, true);
    const auto sequential = run(c, gpu_in, gpu_w, true);
    for (size_t k = 0; k < ref.size(); ++k)
      check_close("sequential " + name_of(k), sequential[k], ref[k], k == 0 ? kOutputs : kGradients);
#if defined(LEGATO_EMULATED_GPU)
    const uint64_t seeds = 4;  // interleavings of the layer streams
#else
    const uint64_t seeds = 1;
#endif
    for (uint64_t s = 1; s <= seeds; ++s) {
#if defined(LEGATO_EMULATED_GPU)
      const uint64_t saved = emu::seed();
      emu::set_seed(saved * 1000 + s);
#endif
      const auto wavefront = run(c, gpu_in, gpu_w, false);
#if defined(LEGATO_EMULATED_GPU)
      emu::set_seed(saved);
#endif
      CAPTURE(s);
      for (size_t k = 0; k < ref.size(); ++k)
        CHECK_MESSAGE(same_bits(wavefront[k], sequential[k]), name_of(k)
                                                                  << " differs from the sequential order, first at "
                                                                  << first_difference(wavefront[k], sequential[k]));
    }
  }
}

TEST_CASE("cuda: lstm_stack without dropout is lstm per layer; the model's stream advances as before") {
  SKIP_WITHOUT_GPU();
  // The stack's output against ops::lstm layer by layer on the GPU (p = 0: nothing else in between).
  const Case c{8, 2, 3, 10, 3, 3, 0.0, false};
  const std::vector<Tensor> cpu_in = stack_inputs(c, 9000);
  std::vector<Tensor> gpu_in;
  for (const Tensor& t : cpu_in) gpu_in.push_back(to_gpu(t));
  std::vector<ops::LstmWeights> layers;
  for (int l = 0; l < c.layers; ++l) {
    const size_t k = 1 + 4 * static_cast<size_t>(l);
    layers.push_back({gpu_in[k], gpu_in[k + 1], gpu_in[k + 2], gpu_in[k + 3]});
  }
  Tensor y = gpu_in[0];
  for (const ops::LstmWeights& w : layers) y = ops::lstm(y, Tensor(), Tensor(), w).y;
  ops::LstmStackOptions o;
  o.chunk = 3;
  check_close("stack against lstm per layer", ops::lstm_stack(gpu_in[0], layers, o).to_vector(), y.to_vector(),
              kOutputs);
}

TEST_CASE("cuda: lstm_stack on a part of a batch drops its windows as the whole batch does, in both orders") {
  SKIP_WITHOUT_GPU();
  // A batch of 5 shared as ranks share it: windows [0, 3) and [3, 5). Each part's output equals the
  // whole batch's rows (the masks between the three layers drawn at the windows' places), its
  // gradients the CPU's for the same part, and the wavefront its sequential order bit for bit.
  const Case c{7, 5, 4, 9, 3, 3, 0.4, false};
  const std::vector<Tensor> cpu_in = stack_inputs(c, 7000);
  const Tensor whole_w = Tensor::uniform({c.T, c.B, c.H}, -1, 1, 7099, DType::F64);
  const std::vector<double> whole_y = run(c, cpu_in, whole_w, true)[0];
  for (const auto& [first, local] : {std::pair<int64_t, int64_t>{0, 3}, {3, 2}}) {
    CAPTURE(first);
    const ops::BatchSlice part{c.B, first, local};
    std::vector<Tensor> part_in = cpu_in;  // the same weights; x: the part's windows
    part_in[0] = ops::slice(cpu_in[0], 1, first, first + local).detach().clone().set_requires_grad(true);
    std::vector<Tensor> gpu_in;
    for (const Tensor& t : part_in) gpu_in.push_back(to_gpu(t));
    const Tensor w = ops::slice(whole_w, 1, first, first + local).detach().clone(), gpu_w = to_gpu(w);
    const auto ref = run(c, part_in, w, true, part);
    const auto sequential = run(c, gpu_in, gpu_w, true, part);
    const std::vector<double> rows =
        ops::slice(Tensor::from_values({c.T, c.B, c.H}, whole_y, DType::F64), 1, first, first + local).to_vector();
    check_close("the part's y against the whole batch's rows", sequential[0], rows, kOutputs);
    for (size_t k = 0; k < ref.size(); ++k)
      check_close("sequential " + name_of(k), sequential[k], ref[k], k == 0 ? kOutputs : kGradients);
    const auto wavefront = run(c, gpu_in, gpu_w, false, part);
    for (size_t k = 0; k < ref.size(); ++k)
      CHECK_MESSAGE(same_bits(wavefront[k], sequential[k]), name_of(k)
                                                                << " differs from the sequential order, first at "
                                                                << first_difference(wavefront[k], sequential[k]));
  }
  std::vector<Tensor> gpu_in;
  for (const Tensor& t : cpu_in) gpu_in.push_back(to_gpu(t));
  CHECK_THROWS_WITH_AS(run(c, gpu_in, to_gpu(whole_w), false, ops::BatchSlice{8, 4, 3}),
                       doctest::Contains("is not windows [4, 7) of a batch of 8"), std::invalid_argument);
}
