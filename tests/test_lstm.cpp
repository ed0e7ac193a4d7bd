// The fused LSTM: gradient checks of every input, a naive per-gate reference written here, the
// graph-free step API, and PyTorch's torch.nn.LSTM on the same weights (tests/data/lstm_torch_ref.bin).
#include <doctest/doctest.h>

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <new>
#include <stdexcept>

#include "engine/nn/layers.h"
#include "engine/ops.h"
#include "engine/ops/lstm.h"
#include "engine/ops/lstm_region.h"
#include "engine/ops/packed_weights.h"
#include "gradcheck.h"
#include "reference_file.h"

using namespace legato;
using legato::testing::leaf;
using V = std::vector<Tensor>;

namespace {

ops::LstmWeights random_weights(int64_t input, int64_t hidden, uint64_t seed) {
  return {leaf({4 * hidden, input}, seed, -0.6, 0.6), leaf({4 * hidden, hidden}, seed + 1, -0.6, 0.6),
          leaf({4 * hidden}, seed + 2, -0.3, 0.3), leaf({4 * hidden}, seed + 3, -0.3, 0.3)};
}

// in = {x, h0, c0, W_ih, W_hh, b_ih, b_hh}
V run_lstm(const V& in, bool last_only) {
  const ops::LstmOutputs out = ops::lstm(in[0], in[1], in[2], {in[3], in[4], in[5], in[6]}, last_only);
  return {out.y, out.h_n, out.c_n};
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// A deliberately plain LSTM: per time step, per batch row, per unit, each gate's dot products
// written out. Returns y [T, B, H]; h and c end as the final state.
std::vector<double> naive_lstm(const Tensor& x, std::vector<double>& h, std::vector<double>& c,
                               const ops::LstmWeights& w) {
  const int64_t T = x.dim(0), B = x.dim(1), I = x.dim(2), H = w.hidden();
  std::vector<double> y;
  for (int64_t t = 0; t < T; ++t) {
    std::vector<double> h_new(B * H), c_new(B * H);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < H; ++j) {
        double pre[4];
        for (int gate = 0; gate < 4; ++gate) {
          const int64_t row = gate * H + j;
          double s = w.b_ih.at(row) + w.b_hh.at(row);
          for (int64_t k = 0; k < I; ++k) s += w.w_ih.at(row * I + k) * x.at((t * B + b) * I + k);
          for (int64_t k = 0; k < H; ++k) s += w.w_hh.at(row * H + k) * h[b * H + k];
          pre[gate] = s;
        }
        const double i = sigmoid(pre[0]), f = sigmoid(pre[1]), g = std::tanh(pre[2]), o = sigmoid(pre[3]);
        c_new[b * H + j] = f * c[b * H + j] + i * g;
        h_new[b * H + j] = o * std::tanh(c_new[b * H + j]);
      }
    h = h_new;
    c = c_new;
    y.insert(y.end(), h.begin(), h.end());
  }
  return y;
}

}  // namespace

TEST_CASE("gradcheck: lstm, full sequence, every input") {
  const int64_t T = 4, B = 3, I = 5, H = 6;
  const ops::LstmWeights w = random_weights(I, H, 100);
  CHECK_GRADIENTS([](const V& in) { return run_lstm(in, false); },
                  (V{leaf({T, B, I}, 1), leaf({B, H}, 2), leaf({B, H}, 3), w.w_ih, w.w_hh, w.b_ih, w.b_hh}));
}

TEST_CASE("gradcheck: lstm, last step only") {
  const int64_t T = 5, B = 2, I = 3, H = 4;
  const ops::LstmWeights w = random_weights(I, H, 200);
  CHECK_GRADIENTS([](const V& in) { return run_lstm(in, true); },
                  (V{leaf({T, B, I}, 4), leaf({B, H}, 5), leaf({B, H}, 6), w.w_ih, w.w_hh, w.b_ih, w.b_hh}));
}

TEST_CASE("gradcheck: lstm without initial state, y only") {
  const int64_t T = 3, B = 2, I = 2, H = 3;
  const ops::LstmWeights w = random_weights(I, H, 300);
  CHECK_GRADIENTS(
      [](const V& in) {
        return V{ops::lstm(in[0], Tensor(), Tensor(), {in[1], in[2], in[3], in[4]}).y};
      },
      (V{leaf({T, B, I}, 7), w.w_ih, w.w_hh, w.b_ih, w.b_hh}));
}

TEST_CASE("gradcheck: lstm biases summed over more rows than one block of the column sums") {
  // T·B = 299 rows: the bias gradient adds them in blocks of 256, the second one partial.
  const int64_t T = 13, B = 23, I = 2, H = 3;
  const ops::LstmWeights w = random_weights(I, H, 400);
  const Tensor x = leaf({T, B, I}, 8).detach();
  CHECK_GRADIENTS(
      [&](const V& in) {
        return V{ops::lstm(x, Tensor(), Tensor(), {w.w_ih, w.w_hh, in[0], in[1]}).y};
      },
      (V{w.b_ih, w.b_hh}));
}

// On its first use a gradient buffer is written by the weight products (beta = 0, no zeroing);
// on a later one they add to it: a second backward without zero_grad doubles every gradient,
// exactly (in float64, g + g is 2g), dW_ih, dW_hh and dX included. No h0: its product would be
// a second term of dW_hh per pass, and (a + b) + a + b need not be 2(a + b) (the gradient checks
// cover that term).
TEST_CASE("lstm: a second backward adds to the gradients the first wrote") {
  const int64_t T = 4, B = 3, I = 5, H = 6;
  const ops::LstmWeights w = random_weights(I, H, 640);
  const V in{leaf({T, B, I}, 641), Tensor(), leaf({B, H}, 643), w.w_ih, w.w_hh, w.b_ih, w.b_hh};
  std::vector<std::vector<double>> once;
  for (int pass = 1; pass <= 2; ++pass) {
    ops::sum(run_lstm(in, false)[0]).backward();
    for (size_t k = 0; k < in.size(); ++k) {
      CAPTURE(k);
      if (!in[k].defined()) {
        once.emplace_back();
        continue;
      }
      const std::vector<double> g = in[k].grad().to_vector();
      if (pass == 1) {
        once.push_back(g);
        continue;
      }
      bool doubled = true;
      for (size_t e = 0; e < g.size(); ++e) doubled = doubled && g[e] == 2 * once[k][e] && g[e] != 0;
      CHECK(doubled);
    }
  }
}

TEST_CASE("lstm forward matches a naive per-gate reference") {
  const int64_t T = 6, B = 3, I = 4, H = 5;
  const ops::LstmWeights w = random_weights(I, H, 400);
  const Tensor x = leaf({T, B, I}, 8), h0 = leaf({B, H}, 9), c0 = leaf({B, H}, 10);
  NoGradGuard guard;
  const ops::LstmOutputs out = ops::lstm(x, h0, c0, w);
  std::vector<double> h = h0.to_vector(), c = c0.to_vector();
  const std::vector<double> y = naive_lstm(x, h, c, w);
  const std::vector<double> got = out.y.to_vector();
  REQUIRE(got.size() == y.size());
  for (size_t k = 0; k < y.size(); ++k) CHECK(got[k] == doctest::Approx(y[k]).epsilon(1e-12));
  for (size_t k = 0; k < h.size(); ++k) {
    CHECK(out.h_n.at(k) == doctest::Approx(h[k]).epsilon(1e-12));
    CHECK(out.c_n.at(k) == doctest::Approx(c[k]).epsilon(1e-12));
  }
  // Last-step output is the final hidden state.
  CHECK(ops::lstm(x, h0, c0, w, true).y.to_vector() == out.h_n.to_vector());
}

TEST_CASE("lstm_step advances the state exactly as the sequence op") {
  const int64_t T = 5, B = 2, I = 3, H = 4;
  nn::StackedLstm stack(I, H, 1, 77, DType::F64);
  const ops::LstmWeights& w = stack.layers[0];
  const Tensor x = Tensor::uniform({T, B, I}, -1, 1, 11, DType::F64);
  NoGradGuard guard;
  const ops::LstmOutputs seq = ops::lstm(x, Tensor(), Tensor(), w);
  Tensor h = Tensor::zeros({B, H}, DType::F64), c = Tensor::zeros({B, H}, DType::F64);
  Tensor gates = Tensor::empty({B, 4 * H}, DType::F64);
  for (int64_t t = 0; t < T; ++t) {
    ops::lstm_step(x.rows(t, 1).view({B, I}), h, c, w, gates);
    const std::vector<double> expect = seq.y.rows(t, 1).to_vector();
    for (int64_t k = 0; k < B * H; ++k) CHECK(h.at(k) == doctest::Approx(expect[k]).epsilon(1e-12));
  }
  for (int64_t k = 0; k < B * H; ++k) CHECK(c.at(k) == doctest::Approx(seq.c_n.at(k)).epsilon(1e-12));
}

TEST_CASE("lstm initialisation follows Keras") {
  const int64_t I = 7, H = 8;
  nn::StackedLstm stack(I, H, 2, 5);
  const ops::LstmWeights& w = stack.layers[1];
  // W_hh [4H, H] has orthonormal columns.
  const Tensor whh = w.w_hh.to(DType::F64);
  for (int64_t a = 0; a < H; ++a)
    for (int64_t b = 0; b < H; ++b) {
      double dot = 0;
      for (int64_t r = 0; r < 4 * H; ++r) dot += whh.at(r * H + a) * whh.at(r * H + b);
      CHECK(dot == doctest::Approx(a == b ? 1.0 : 0.0).epsilon(1e-5));
    }
  // Glorot uniform bound for layer 0: sqrt(6 / (I + 4H)).
  const double limit = std::sqrt(6.0 / (I + 4 * H));
  double largest = 0;
  for (double v : stack.layers[0].w_ih.to_vector()) largest = std::max(largest, std::abs(v));
  CHECK(largest <= limit);
  CHECK(largest > 0.8 * limit);
  // Biases zero except the forget gate's 1.
  for (int64_t k = 0; k < 4 * H; ++k) {
    CHECK(w.b_ih.at(k) == (k >= H && k < 2 * H ? 1.0 : 0.0));
    CHECK(w.b_hh.at(k) == 0.0);
  }
  const nn::ParameterList names = stack.parameters("lstm.");
  REQUIRE(names.size() == 8);
  CHECK(names[0].name == "lstm.weight_ih_l0");
  CHECK(names[7].name == "lstm.bias_hh_l1");
}

TEST_CASE("lstm misuse throws naming the shapes") {
  const ops::LstmWeights w = random_weights(3, 4, 500);
  CHECK_THROWS_WITH_AS(ops::lstm(Tensor::zeros({2, 1, 5}, DType::F64), Tensor(), Tensor(), w),
                       doctest::Contains("lstm: x is float64 [2, 1, 5] but W_ih is float64 [16, 3]"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::lstm(Tensor::zeros({2, 1, 3}, DType::F64), Tensor::zeros({2, 4}, DType::F64), Tensor(), w),
                       doctest::Contains("h0 is float64 [2, 4] but expected float64 [1, 4]"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::lstm(Tensor::zeros({2, 1, 3}), Tensor(), Tensor(), w),
                       doctest::Contains("W_ih is float64 [16, 3] but the input is float32"), std::invalid_argument);
}

TEST_CASE("lstm matches torch.nn.LSTM on the same weights") {
  // Written by tools/make_torch_reference.py (PyTorch 1.13, float64).
  const auto ref = legato::testing::read_reference_file(LEGATO_TEST_DATA "/lstm_torch_ref.bin");
  auto get = [&](const std::string& name) {
    const auto it = ref.find(name);
    REQUIRE_MESSAGE(it != ref.end(), "reference file lacks " << name);
    return it->second.clone().set_requires_grad(true);
  };
  const Tensor x = get("x"), h0 = get("h0"), c0 = get("c0");
  const ops::LstmWeights w{get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")};
  const ops::LstmOutputs out = ops::lstm(x, h0, c0, w);
  auto check_close = [](const Tensor& got, const Tensor& expect, const char* what) {
    CAPTURE(what);
    REQUIRE(got.shape() == expect.shape());
    for (int64_t k = 0; k < got.numel(); ++k) CHECK(got.at(k) == doctest::Approx(expect.at(k)).epsilon(1e-10));
  };
  check_close(out.y, ref.at("y"), "y");
  check_close(out.h_n, ref.at("h_n"), "h_n");
  check_close(out.c_n, ref.at("c_n"), "c_n");
  // The script's loss: sum(y * wy) + sum(h_n * wh) + sum(c_n * wc).
  Tensor loss = ops::add(ops::add(ops::sum(ops::mul(out.y, ref.at("wy"))), ops::sum(ops::mul(out.h_n, ref.at("wh")))),
                         ops::sum(ops::mul(out.c_n, ref.at("wc"))));
  loss.backward();
  check_close(x.grad(), ref.at("grad_x"), "grad x");
  check_close(h0.grad(), ref.at("grad_h0"), "grad h0");
  check_close(c0.grad(), ref.at("grad_c0"), "grad c0");
  check_close(w.w_ih.grad(), ref.at("grad_weight_ih"), "grad W_ih");
  check_close(w.w_hh.grad(), ref.at("grad_weight_hh"), "grad W_hh");
  check_close(w.b_ih.grad(), ref.at("grad_bias_ih"), "grad b_ih");
  check_close(w.b_hh.grad(), ref.at("grad_bias_hh"), "grad b_hh");
}

// ops::lstm in float32 against float64 with the weights w64 (float64, hidden H) at T steps, batch B,
// input I: outputs and every gradient within atol + rtol·|float64|.
void check_float32_against_float64(const ops::LstmWeights& w64, int64_t T, int64_t B, int64_t I, int64_t H, double atol,
                                   double rtol) {
  const Tensor x64 = leaf({T, B, I}, 12), h64 = leaf({B, H}, 13), c64 = leaf({B, H}, 14);
  auto as32 = [](const Tensor& t) { return t.to(DType::F32).set_requires_grad(true); };
  const ops::LstmWeights w32{as32(w64.w_ih), as32(w64.w_hh), as32(w64.b_ih), as32(w64.b_hh)};
  const Tensor x32 = as32(x64), h32 = as32(h64), c32 = as32(c64);
  const Tensor seed = Tensor::uniform({T, B, H}, -1, 1, 15, DType::F64);
  // The float64 reference on one thread: float32's threaded path is checked against the serial one.
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const ops::LstmOutputs a = ops::lstm(x64, h64, c64, w64);
  a.y.backward(seed);
  omp_set_num_threads(threads);
  const ops::LstmOutputs b = ops::lstm(x32, h32, c32, w32);
  b.y.backward(seed.to(DType::F32));
  auto close = [&](const Tensor& got, const Tensor& ref, const char* what) {
    CAPTURE(what);
    int bad = 0;
    for (int64_t k = 0; k < ref.numel() && bad < 5; ++k)
      if (std::abs(got.at(k) - ref.at(k)) > atol + rtol * std::abs(ref.at(k))) {
        ++bad;
        MESSAGE("element " << k << ": float32 " << got.at(k) << " vs float64 " << ref.at(k));
      }
    CHECK(bad == 0);
  };
  close(b.y, a.y, "y");
  close(b.c_n, a.c_n, "c_n");
  close(x32.grad(), x64.grad(), "dx");
  close(h32.grad(), h64.grad(), "dh0");
  close(c32.grad(), c64.grad(), "dc0");
  close(w32.w_ih.grad(), w64.w_ih.grad(), "dW_ih");
  close(w32.w_hh.grad(), w64.w_hh.grad(), "dW_hh");
  close(w32.b_ih.grad(), w64.b_ih.grad(), "db_ih");
}

// After 20 recurrent steps the float32 runs stay near 1e-6.
TEST_CASE("lstm: float32 agrees with float64, outputs and gradients") {
  check_float32_against_float64(random_weights(7, 9, 600), 20, 4, 7, 9, 1e-5, 1e-4);
}

// B·H = 16384 reaches the cells' threads (kParallelElements, engine/ops/lstm_cells.h): the
// backward's step region, where dh += gy_t, the cells and the bias sums share the threads, and
// 10 steps of 32 rows complete a block of the bias sums (256 rows) inside the loop. W_hh in
// ±0.03 (about 1/√H, as trained networks start) keeps the recurrence from amplifying float32's
// rounding; a row of dh or of the bias sums missed by a thread is off by its whole value.
TEST_CASE("lstm: float32 agrees with float64 where the cells run on several threads") {
  const int64_t H = 512;
  const ops::LstmWeights w64{leaf({4 * H, 3}, 610, -0.6, 0.6), leaf({4 * H, H}, 611, -0.03, 0.03),
                             leaf({4 * H}, 612, -0.3, 0.3), leaf({4 * H}, 613, -0.3, 0.3)};
  check_float32_against_float64(w64, 10, 32, 3, H, 1e-5, 1e-4);
}

// ops::lstm's outputs and every gradient in float32 at T steps, batch B, input I, hidden H,
// in the order y, h_n, c_n, dx, dh0, dc0, dW_ih, dW_hh, db_ih, db_hh; with_state: from a given
// h0 and c0, the loss reaching c_n as well; without: zeros, the loss through y alone (dx in the
// places of dh0 and dc0), as the trainer's layers run.
V float32_lstm_results(int64_t T, int64_t B, int64_t I, int64_t H, bool with_state,
                       Precision precision = Precision::FP32) {
  auto as32 = [](const Tensor& t) { return t.to(DType::F32).set_requires_grad(true); };
  const ops::LstmWeights w{as32(leaf({4 * H, I}, 620, -0.6, 0.6)), as32(leaf({4 * H, H}, 621, -0.03, 0.03)),
                           as32(leaf({4 * H}, 622, -0.3, 0.3)), as32(leaf({4 * H}, 623, -0.3, 0.3))};
  const Tensor x = as32(leaf({T, B, I}, 624)), h0 = as32(leaf({B, H}, 625)), c0 = as32(leaf({B, H}, 626));
  if (!with_state) {
    const ops::LstmOutputs out = ops::lstm(x, Tensor(), Tensor(), w, false, precision);
    out.y.backward(Tensor::uniform({T, B, H}, -1, 1, 627));
    return {out.y,    out.h_n,       out.c_n,       x.grad(),      x.grad(),
            x.grad(), w.w_ih.grad(), w.w_hh.grad(), w.b_ih.grad(), w.b_hh.grad()};
  }
  const ops::LstmOutputs out = ops::lstm(x, h0, c0, w, false, precision);
  Tensor loss = ops::add(ops::sum(ops::mul(out.y, Tensor::uniform({T, B, H}, -1, 1, 627))),
                         ops::sum(ops::mul(out.c_n, Tensor::uniform({B, H}, -1, 1, 628))));
  loss.backward();
  return {out.y,     out.h_n,       out.c_n,       x.grad(),      h0.grad(),
          c0.grad(), w.w_ih.grad(), w.w_hh.grad(), w.b_ih.grad(), w.b_hh.grad()};
}

// With several threads and B·H at least kParallelElements, the time loop runs as one parallel
// region in which each thread makes its own units' slice of every step's recurrent product and
// their cells (engine/ops/lstm.cpp); on one thread each step runs the whole product and the
// cells as before (one thread: oneDNN's products of these shapes give the same bits on one
// thread as on two). The two must agree bit for bit in float32, so that fp32 training stays what
// it was: the slices' products sum in the whole product's order, and each slice's cells are
// compiled as the whole row's (a loop from unit u0 once peeled units onto scalar tanh). H = 272
// splits into unequal slices (8 and 9 blocks of 16 units); 12 steps of 64 rows complete three
// blocks of the bias sums inside the loop.
TEST_CASE("lstm: the time loop in one region gives the per-step regions' float32 results bit for bit") {
  for (const auto& [H, with_state] : {std::pair<int64_t, bool>{512, true}, {272, true}, {256, false}}) {
    CAPTURE(H);
    const int threads = omp_get_max_threads();
    if (threads < 2) omp_set_num_threads(2);
    const V fused = float32_lstm_results(12, 64, 8, H, with_state);
    omp_set_num_threads(1);
    const V serial = float32_lstm_results(12, 64, 8, H, with_state);
    omp_set_num_threads(threads);
    const char* names[] = {"y", "h_n", "c_n", "dx", "dh0", "dc0", "dW_ih", "dW_hh", "db_ih", "db_hh"};
    for (size_t r = 0; r < fused.size(); ++r) {
      const std::string name = names[r];
      CAPTURE(name);
      int64_t differ = 0;
      double worst = 0, largest = 0;
      for (int64_t k = 0; k < fused[r].numel(); ++k) {
        const double a = fused[r].data<float>()[k], b = serial[r].data<float>()[k];
        differ += a != b;
        worst = std::max(worst, std::abs(a - b));
        largest = std::max(largest, std::abs(b));
      }
#if defined(__SANITIZE_ADDRESS__)
      // The bits are the optimised build's promise (its checkpoints are main's byte for byte): the
      // sanitizers' build (-O2 with instrumentation) inlines the backward's cells into the region
      // and the per-step loop differently and contracts them differently, so there the two agree
      // to float32's rounding (1-2 units in the last place of the largest element, measured), not
      // bit for bit. A row missed by a thread is off by its whole value, far beyond this bound.
      CHECK(worst <= 8 * 1.1920929e-7 * largest);
#else
      CAPTURE(worst);
      CAPTURE(largest);
      CHECK(differ == 0);
#endif
    }
  }
}

TEST_CASE("lstm: W_hh is packed once while it stays as it is, and packed again after every change") {
  const int64_t T = 6, B = 3, I = 5, H = 7;
  auto as32 = [](const Tensor& t) { return t.to(DType::F32); };
  const ops::LstmWeights w64 = random_weights(I, H, 700);
  ops::LstmWeights w{as32(w64.w_ih), as32(w64.w_hh), as32(w64.b_ih), as32(w64.b_hh)};
  const Tensor x = as32(leaf({T, B, I}, 21)), h0 = as32(leaf({B, H}, 22));
  auto run = [&](const ops::LstmWeights& weights, const Tensor& input) {
    return ops::lstm(input, h0, Tensor(), weights).y.to(DType::F64);
  };
  auto same = [](const Tensor& a, const Tensor& b) {
    for (int64_t k = 0; k < a.numel(); ++k)
      if (a.at(k) != b.at(k)) return false;
    return true;
  };
  const uint64_t before = ops::detail::packings_made();
  const Tensor first = run(w, x);
  CHECK(ops::detail::packings_made() == before + 1);
  CHECK(same(run(w, x), first));  // validation's batches: the same weights, nothing packed again
  CHECK(ops::detail::packings_made() == before + 1);

  // Another batch size is another packing; the first one stays.
  const Tensor wider = as32(leaf({T, B + 2, I}, 23));
  ops::lstm(wider, Tensor(), Tensor(), w);
  CHECK(ops::detail::packings_made() == before + 2);
  CHECK(same(run(w, x), first));
  CHECK(ops::detail::packings_made() == before + 2);

  // Written in place (as the optimiser's step does): packed again, and the result is the one a
  // fresh copy of the changed weights gives.
  w.w_hh.data<float>()[3] += 0.5f;
  const Tensor changed = run(w, x);
  CHECK(ops::detail::packings_made() == before + 3);
  const ops::LstmWeights fresh{w.w_ih, w.w_hh.clone(), w.b_ih, w.b_hh};
  CHECK(same(changed, run(fresh, x)));
  CHECK_FALSE(same(changed, first));

  // Loaded from elsewhere (as a checkpoint is): packed again.
  w.w_hh.copy_from(fresh.w_hh.to(DType::F64).to(DType::F32));
  CHECK(same(run(w, x), changed));
  CHECK(ops::detail::packings_made() == before + 5);  // the fresh copy's packing, then this one's
}

namespace {

// Runs f with at least two OpenMP threads, so that a B·H ≥ kParallelElements LSTM takes the
// time-loop region (engine/ops/lstm.cpp: one_region).
template <class F>
void with_two_threads(F f) {
  const int threads = omp_get_max_threads();
  if (threads < 2) omp_set_num_threads(2);
  f();
  omp_set_num_threads(threads);
}

// Whether a and b hold the same float32 bits, element for element.
bool same_bits(const V& a, const V& b) {
  for (size_t r = 0; r < a.size(); ++r)
    for (int64_t k = 0; k < a[r].numel(); ++k)
      if (a[r].data<float>()[k] != b[r].data<float>()[k]) return false;
  return true;
}

}  // namespace

// The time-loop region's slices of W_hh (engine/ops/lstm_region.h) are packed once while W_hh
// stays as it is, as packed_weights() is for the per-step path: validation's batches pack nothing
// after the first; a change of the weights packs again, and the results are a fresh packing's.
TEST_CASE("lstm: the time-loop region packs W_hh's slices once while W_hh stays as it is") {
  with_two_threads([] {
    const int64_t T = 4, B = 64, I = 8, H = 256;  // B·H = kParallelElements
    auto as32 = [](const Tensor& t) { return t.to(DType::F32); };
    ops::LstmWeights w{as32(leaf({4 * H, I}, 720, -0.6, 0.6)), as32(leaf({4 * H, H}, 721, -0.03, 0.03)),
                       as32(leaf({4 * H}, 722, -0.3, 0.3)), as32(leaf({4 * H}, 723, -0.3, 0.3))};
    const Tensor x = as32(leaf({T, B, I}, 724));
    auto forward = [&] { return V{ops::lstm(x, Tensor(), Tensor(), w).y.clone()}; };
    uint64_t before = ops::detail::region_packings_made();
    const V first = forward();
    const uint64_t packed = ops::detail::region_packings_made() - before;
    CHECK(packed >= 2);  // one slice per thread
    CHECK(same_bits(forward(), first));
    CHECK(ops::detail::region_packings_made() == before + packed);  // validation's next batch

    // A forward that records a graph (training) keeps nothing: the optimiser changes W_hh after its
    // backward, and the slices are freed where they were packed, as before the cache.
    const ops::LstmWeights trained{w.w_ih, w.w_hh.clone().set_requires_grad(true), w.b_ih, w.b_hh};
    const uint64_t training = ops::detail::region_packings_made();
    for (int k = 0; k < 2; ++k) ops::lstm(x, Tensor(), Tensor(), trained);
    CHECK(ops::detail::region_packings_made() == training + 2 * packed);

    w.w_hh.data<float>()[5] += 0.25f;  // written in place (a checkpoint's load, a step between)
    before = ops::detail::region_packings_made();
    const V changed = forward();
    CHECK(ops::detail::region_packings_made() == before + packed);
    CHECK_FALSE(same_bits(changed, first));
    const ops::LstmWeights fresh{w.w_ih, w.w_hh.clone(), w.b_ih, w.b_hh};
    CHECK(same_bits(V{ops::lstm(x, Tensor(), Tensor(), fresh).y}, changed));
  });
}

namespace {

// Where the test hook throws: at `point` of the forward's or the backward's region, on `thread`,
// at `step` (the hook takes no state, so these are globals of the test).
ops::detail::RegionPoint fail_point;
bool fail_backward;
int fail_thread;
int64_t fail_step;
bool fail_with_bad_alloc;

void failing_hook(ops::detail::RegionPoint point, bool backward, int thread, int64_t step) {
  if (point != fail_point || backward != fail_backward || thread != fail_thread || step != fail_step) return;
  if (fail_with_bad_alloc) throw std::bad_alloc();
  throw std::runtime_error("forced failure in the LSTM's region");
}

}  // namespace

// An exception on one thread of the time-loop region (bad_alloc while packing a slice, a oneDNN
// error in a step's product) reaches the caller instead of terminating the process: the thread
// keeps hitting the barriers, the region ends, and the exception is rethrown after it. Afterwards
// the same LSTM runs again and gives the results of a run that never failed (nothing half-packed
// was kept). Without the catch the test process dies in std::terminate.
TEST_CASE("lstm: an exception on one thread of the time-loop region reaches the caller") {
  with_two_threads([] {
    const V clean = float32_lstm_results(6, 64, 8, 256, true);
    struct Case {
      ops::detail::RegionPoint point;
      bool backward;
      int thread;
      int64_t step;
      bool bad_alloc;
    };
    const Case cases[] = {{ops::detail::RegionPoint::Packing, false, 1, 0, true},
                          {ops::detail::RegionPoint::Step, false, 0, 3, false},
                          {ops::detail::RegionPoint::Packing, true, 1, 5, true},
                          {ops::detail::RegionPoint::Step, true, 1, 2, false}};
    for (const Case& c : cases) {
      CAPTURE(c.backward);
      CAPTURE(c.step);
      fail_point = c.point;
      fail_backward = c.backward;
      fail_thread = c.thread;
      fail_step = c.step;
      fail_with_bad_alloc = c.bad_alloc;
      ops::detail::region_test_hook.store(failing_hook);
      if (c.bad_alloc)
        CHECK_THROWS_AS(float32_lstm_results(6, 64, 8, 256, true), std::bad_alloc);
      else
        CHECK_THROWS_WITH(float32_lstm_results(6, 64, 8, 256, true), "forced failure in the LSTM's region");
      ops::detail::region_test_hook.store(nullptr);
      CHECK(same_bits(float32_lstm_results(6, 64, 8, 256, true), clean));
    }
  });
}

// At bf16 the time-loop region's cells run in one pass each way (lstm_cells.h:
// cell_forward_row_bf16, and the backward's bf16 copy written in its loop), the per-step path's
// with the recurrent product added by the product instead: the same arithmetic, so the region's
// outputs and gradients agree with the per-step ones (one thread) to float32's rounding, far inside
// bf16's. Both keep the gate cache in bf16 (GatePair), where a float32 difference in a gate could
// round to a whole bf16 unit apart, which this bound sees. A gate's recurrent slice or bf16 copy
// taken from the wrong place is off by the whole value.
TEST_CASE("lstm: at bf16 the time loop in one region agrees with the per-step regions") {
  for (const bool with_state : {true, false}) {
    CAPTURE(with_state);
    V region, serial;
    with_two_threads([&] { region = float32_lstm_results(12, 64, 8, 272, with_state, Precision::BF16); });
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    serial = float32_lstm_results(12, 64, 8, 272, with_state, Precision::BF16);
    omp_set_num_threads(threads);
    const char* names[] = {"y", "h_n", "c_n", "dx", "dh0", "dc0", "dW_ih", "dW_hh", "db_ih", "db_hh"};
    for (size_t r = 0; r < serial.size(); ++r) {
      const std::string name = names[r];
      CAPTURE(name);
      double largest = 0, worst = 0;
      for (int64_t k = 0; k < serial[r].numel(); ++k) {
        largest = std::max(largest, std::abs(double(serial[r].data<float>()[k])));
        worst = std::max(worst, std::abs(double(region[r].data<float>()[k]) - serial[r].data<float>()[k]));
      }
      CHECK(worst <= 1e-4 * largest);
    }
  }
}
