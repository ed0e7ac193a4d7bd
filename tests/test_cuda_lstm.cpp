// The LSTM op on CUDA tensors (ops::lstm and ops::lstm_step through the engine) against the CPU
// op in float64: y, h_n, c_n and the gradient of every input, at sizes that are not multiples of
// 32, batch 1, with and without an initial state, full sequence and last step, and gradients
// reaching the outputs in every combination. Skipped, visibly, without a GPU.
//
// Tolerances (|cuda - cpu| <= atol + rtol * |cpu|), as in test_cuda.cpp's kernel test:
//   outputs   atol 1e-5 + rtol 1e-4: float32 cells (expf, tanhf within 2 ulp) after products of
//             K <= 45 + 64 terms, carried through up to 20 steps of a contracting recurrence;
//             expected error ~1e-6.
//   gradients atol 1e-4 + rtol 1e-3: float32 backpropagation through up to 20 steps, and weight
//             gradients summed over T * B = 80 rows (magnitudes ~1); expected error ~1e-5.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "engine/ops.h"
#include "engine/ops/lstm.h"
#include "engine/tensor.h"
#include "gpu.h"

using namespace legato;
using legato::testing::check_close;
using legato::testing::to_gpu;
using legato::testing::Tolerance;

namespace {

constexpr Tolerance kOutputs{1e-5, 1e-4};
constexpr Tolerance kGradients{1e-4, 1e-3};

struct Dims {
  int64_t T, B, I, H;
};

// What the initial state is: none (zeros), h0 and c0 taking gradients, or h0 alone as a constant
// (its gradient is not needed, but W_hh's gradient still has the h0 term).
enum class State { None, Both, HiddenConstant };
// Where the loss reads: every output (y, h_n, c_n), or y alone.
enum class Reads { All, YOnly };

const char* name_of(State s) {
  return s == State::None ? "no initial state" : s == State::Both ? "h0 and c0" : "constant h0, no c0";
}

// The op's inputs as float64 CPU tensors: {x, h0, c0, W_ih, W_hh, b_ih, b_hh}. Weights in
// [-0.3, 0.3) keep the gates away from saturation at every size here.
std::vector<Tensor> lstm_inputs(const Dims& d, State state, uint64_t seed) {
  auto leaf = [](const Shape& shape, uint64_t s, double scale) {
    return Tensor::uniform(shape, -scale, scale, s, DType::F64).set_requires_grad(true);
  };
  const int64_t G = 4 * d.H;
  Tensor h0, c0;
  if (state == State::Both) {
    h0 = leaf({d.B, d.H}, seed + 1, 1.0);
    c0 = leaf({d.B, d.H}, seed + 2, 1.0);
  } else if (state == State::HiddenConstant) {
    h0 = Tensor::uniform({d.B, d.H}, -1, 1, seed + 1, DType::F64);
  }
  return {leaf({d.T, d.B, d.I}, seed, 1.0),
          h0,
          c0,
          leaf({G, d.I}, seed + 3, 0.3),
          leaf({G, d.H}, seed + 4, 0.3),
          leaf({G}, seed + 5, 0.3),
          leaf({G}, seed + 6, 0.3)};
}

ops::LstmOutputs run_lstm(const std::vector<Tensor>& in, bool last_only) {
  return ops::lstm(in[0], in[1], in[2], {in[3], in[4], in[5], in[6]}, last_only);
}

// L = <wy, y> (+ <wh, h_n> + <wc, c_n>): fixed random weights, the same on both devices.
Tensor projected(const ops::LstmOutputs& out, const std::vector<Tensor>& weights, Reads reads) {
  Tensor loss = ops::sum(ops::mul(out.y, weights[0]));
  if (reads == Reads::All) {
    loss = ops::add(loss, ops::sum(ops::mul(out.h_n, weights[1])));
    loss = ops::add(loss, ops::sum(ops::mul(out.c_n, weights[2])));
  }
  return loss;
}

const char* const kInputNames[] = {"x", "h0", "c0", "W_ih", "W_hh", "b_ih", "b_hh"};

}  // namespace

TEST_CASE("cuda: lstm matches the CPU float64 op: y, h_n, c_n and every gradient") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 1000;
  for (const Dims d : {Dims{1, 1, 1, 1}, Dims{5, 1, 3, 7}, Dims{7, 3, 33, 45}, Dims{20, 4, 16, 64}})
    for (State state : {State::None, State::Both, State::HiddenConstant})
      for (bool last_only : {false, true})
        for (Reads reads : {Reads::All, Reads::YOnly}) {
          CAPTURE(d.T);
          CAPTURE(d.B);
          CAPTURE(d.I);
          CAPTURE(d.H);
          CAPTURE(name_of(state));
          CAPTURE(last_only);
          const bool reads_all = reads == Reads::All;
          CAPTURE(reads_all);
          seed += 10;
          const std::vector<Tensor> cpu_in = lstm_inputs(d, state, seed);
          std::vector<Tensor> gpu_in;
          for (const Tensor& t : cpu_in) gpu_in.push_back(to_gpu(t));
          const Shape y_shape = last_only ? Shape{d.B, d.H} : Shape{d.T, d.B, d.H};
          const std::vector<Tensor> weights = {Tensor::uniform(y_shape, -1, 1, seed + 7, DType::F64),
                                               Tensor::uniform({d.B, d.H}, -1, 1, seed + 8, DType::F64),
                                               Tensor::uniform({d.B, d.H}, -1, 1, seed + 9, DType::F64)};
          std::vector<Tensor> gpu_weights;
          for (const Tensor& t : weights) gpu_weights.push_back(to_gpu(t));

          const ops::LstmOutputs ref = run_lstm(cpu_in, last_only);
          const ops::LstmOutputs got = run_lstm(gpu_in, last_only);
          REQUIRE(got.y.device() == Device::CUDA);
          REQUIRE(got.y.shape() == y_shape);
          REQUIRE(got.h_n.shape() == Shape{d.B, d.H});
          REQUIRE(got.c_n.shape() == Shape{d.B, d.H});
          check_close("y", got.y.to_vector(), ref.y.to_vector(), kOutputs);
          check_close("h_n", got.h_n.to_vector(), ref.h_n.to_vector(), kOutputs);
          check_close("c_n", got.c_n.to_vector(), ref.c_n.to_vector(), kOutputs);

          projected(ref, weights, reads).backward();
          projected(got, gpu_weights, reads).backward();
          for (size_t k = 0; k < cpu_in.size(); ++k) {
            if (!cpu_in[k].requires_grad()) continue;
            REQUIRE_MESSAGE(cpu_in[k].grad().defined(), kInputNames[k]);
            REQUIRE_MESSAGE(gpu_in[k].grad().defined(), kInputNames[k]);
            check_close(std::string("gradient of ") + kInputNames[k], gpu_in[k].grad().to_vector(),
                        cpu_in[k].grad().to_vector(), kGradients);
          }
        }
}

TEST_CASE("cuda: lstm with only some inputs taking a gradient") {
  SKIP_WITHOUT_GPU();
  // x and the biases as constants (the backward then writes their gradients nowhere), and a second
  // backward through a fresh graph adding into the same weight gradients.
  const Dims d{6, 2, 5, 19};
  std::vector<Tensor> cpu_in = lstm_inputs(d, State::Both, 77);
  for (int k : {0, 5, 6}) cpu_in[k].set_requires_grad(false);
  std::vector<Tensor> gpu_in;
  for (const Tensor& t : cpu_in) gpu_in.push_back(to_gpu(t));
  const Tensor w = Tensor::uniform({d.T, d.B, d.H}, -1, 1, 78, DType::F64), gpu_w = to_gpu(w);
  for (int pass = 0; pass < 2; ++pass) {
    projected(run_lstm(cpu_in, false), {w}, Reads::YOnly).backward();
    projected(run_lstm(gpu_in, false), {gpu_w}, Reads::YOnly).backward();
  }
  for (int k : {0, 5, 6}) CHECK_FALSE(gpu_in[k].grad().defined());
  for (int k : {1, 2, 3, 4})
    check_close(std::string("twice accumulated gradient of ") + kInputNames[k], gpu_in[k].grad().to_vector(),
                cpu_in[k].grad().to_vector(), kGradients);
}

TEST_CASE("cuda: lstm_step matches steps of the CPU float64 op") {
  SKIP_WITHOUT_GPU();
  // One step from a given state, then six steps in a row: h and c after each against the CPU
  // sequence op's h_n and c_n over the same prefix. Tolerance kOutputs (see the top).
  for (const Dims d : {Dims{6, 1, 1, 1}, Dims{6, 1, 5, 37}, Dims{6, 3, 33, 45}}) {
    CAPTURE(d.B);
    CAPTURE(d.I);
    CAPTURE(d.H);
    const std::vector<Tensor> cpu_in = lstm_inputs(d, State::Both, 300 + static_cast<uint64_t>(d.H));
    const ops::LstmWeights w_gpu{to_gpu(cpu_in[3]), to_gpu(cpu_in[4]), to_gpu(cpu_in[5]), to_gpu(cpu_in[6])};
    const Tensor x_gpu = to_gpu(cpu_in[0]);
    Tensor h = to_gpu(cpu_in[1].detach()), c = to_gpu(cpu_in[2].detach());
    Tensor gates = Tensor::empty({d.B, 4 * d.H}, DType::F32, Device::CUDA);
    for (int64_t t = 0; t < d.T; ++t) {
      CAPTURE(t);
      ops::lstm_step(x_gpu.rows(t, 1).view({d.B, d.I}), h, c, w_gpu, gates);
      REQUIRE(h.device() == Device::CUDA);
      const ops::LstmOutputs ref = ops::lstm(ops::slice(cpu_in[0], 0, 0, t + 1), cpu_in[1], cpu_in[2],
                                             {cpu_in[3], cpu_in[4], cpu_in[5], cpu_in[6]});
      check_close("h", h.to_vector(), ref.h_n.to_vector(), kOutputs);
      check_close("c", c.to_vector(), ref.c_n.to_vector(), kOutputs);
    }
  }
}
