// Every engine op on CUDA tensors against the same op on the CPU in float64: the op table's rows
// (tests/op_table.h, whose tolerances say why each is what it is), outputs and the gradients of
// every input, backward from the same random seed gradient; then dropout's mask bit for bit, empty
// tensors, the errors of mixed devices, and what creating a CUDA tensor does on a machine without
// a GPU (that test runs everywhere). The rest skips, visibly, without a GPU.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "engine/ops/lstm.h"
#include "engine/tensor.h"
#include "gpu.h"
#include "op_table.h"

using namespace legato;
using legato::testing::check_close;
using legato::testing::kRounding;
using legato::testing::op_leaf;
using legato::testing::to_gpu;
using legato::testing::Tolerance;
using V = std::vector<Tensor>;

namespace {

using OpFn = std::function<Tensor(const V&)>;

// Runs f on the CPU inputs (float64 leaves, or int32 indices) and on their float32 copies on the
// GPU, backward from the same seed gradient (uniform in [-1, 1), float32 on the GPU), and compares
// the outputs (out_tol) and the gradient of every input that takes one (grad_tol).
void check_op(const std::string& what, const OpFn& f, V cpu_inputs, Tolerance out_tol, Tolerance grad_tol,
              uint64_t seed = 12345) {
  CAPTURE(what);
  for (Tensor& t : cpu_inputs)
    if (t.requires_grad()) t.zero_grad();
  V gpu_inputs;
  for (const Tensor& t : cpu_inputs) gpu_inputs.push_back(to_gpu(t));

  const Tensor ref = f(cpu_inputs);
  const Tensor got = f(gpu_inputs);
  REQUIRE(got.device() == Device::CUDA);
  REQUIRE(got.dtype() == DType::F32);
  REQUIRE(got.shape() == ref.shape());
  check_close(what + ": output", got.to_vector(), ref.to_vector(), out_tol);

  const Tensor seed_grad = Tensor::uniform(ref.shape(), -1.0, 1.0, seed, DType::F64);
  ref.backward(seed_grad);
  got.backward(to_gpu(seed_grad));
  for (size_t k = 0; k < cpu_inputs.size(); ++k) {
    if (!cpu_inputs[k].requires_grad()) continue;
    const std::string name = what + ": gradient of input " + std::to_string(k);
    const Tensor g_ref = cpu_inputs[k].grad(), g_got = gpu_inputs[k].grad();
    REQUIRE_MESSAGE(g_ref.defined(), name);
    REQUIRE_MESSAGE(g_got.defined(), name);
    CHECK(g_got.device() == Device::CUDA);
    check_close(name, g_got.to_vector(), g_ref.to_vector(), grad_tol);
  }
}

}  // namespace

// Every row of the op table (tests/op_table.h) on its wide inputs, with the row's tolerances.
TEST_CASE("cuda: every op of the table against the CPU's float64, outputs and gradients") {
  SKIP_WITHOUT_GPU();
  for (const testing::OpCase& row : testing::op_table())
    check_op(row.name, row.apply, row.inputs(true), row.out, row.grad);
}

TEST_CASE("cuda: dropout draws the CPU's float32 mask bit for bit") {
  SKIP_WITHOUT_GPU();
  // 37 * 129 elements (not a multiple of 4) at an offset that is not one either: the Philox lanes
  // straddle the ends. Both devices compute x * m with m = 1/(1-p) or 0 in float32: exact.
  const Tensor x = Tensor::uniform({37, 129}, -2, 2, 90, DType::F32).set_requires_grad(true);
  const Tensor seed_grad = Tensor::uniform({37, 129}, -1, 1, 91, DType::F32);
  for (uint64_t offset : {uint64_t{0}, uint64_t{5}, uint64_t{1} << 33}) {
    CAPTURE(offset);
    Tensor cpu_x = x.clone().set_requires_grad(true), gpu_x = to_gpu(x);
    const Tensor ref = ops::dropout(cpu_x, 0.3, true, 77, offset);
    const Tensor got = ops::dropout(gpu_x, 0.3, true, 77, offset);
    REQUIRE(got.device() == Device::CUDA);
    const std::vector<double> y = got.to_vector();
    check_close("dropout output", y, ref.to_vector(), Tolerance{0, 0});
    int64_t zeros = 0;
    for (double v : y) zeros += v == 0.0;
    const double dropped = static_cast<double>(zeros) / static_cast<double>(y.size());
    CHECK(dropped > 0.25);  // p = 0.3 over 4773 elements: 0.30 +- 0.007
    CHECK(dropped < 0.35);
    ref.backward(seed_grad);
    got.backward(to_gpu(seed_grad));
    check_close("dropout gradient", gpu_x.grad().to_vector(), cpu_x.grad().to_vector(), Tolerance{0, 0});
  }
  // Evaluation and p = 0 are the identity on the GPU too (the same tensor back).
  const Tensor gpu_x = to_gpu(x);
  CHECK(ops::dropout(gpu_x, 0.3, false, 77, 0).impl() == gpu_x.impl());
  CHECK(ops::dropout(gpu_x, 0.0, true, 77, 0).impl() == gpu_x.impl());
}

TEST_CASE("cuda: dropout on a part of a batch draws the CPU's mask at its windows' places in the whole batch") {
  SKIP_WITHOUT_GPU();
  // Windows [2, 5) of a batch of 7 (a rank's share), rows of 33 elements: the part's mask starts
  // off Philox's lanes in every row. As [T, B, H] (between the layers) and as [T * B, H] (the head).
  constexpr int64_t T = 4, B = 7, first = 2, local = 3, H = 33;
  constexpr uint64_t seed = 77, offset = 5;
  const ops::BatchSlice part{B, first, local};
  const Tensor whole_x = Tensor::uniform({T, B, H}, -2, 2, 92, DType::F32);
  const Tensor x = ops::slice(whole_x, 1, first, first + local).detach().clone();  // [T, local, H]
  const Tensor whole = ops::dropout(to_gpu(whole_x), 0.3, true, seed, offset);     // the batch on one GPU
  const std::vector<double> whole_rows = ops::slice(whole, 1, first, first + local).to_vector();
  for (const Shape& shape : {Shape{T, local, H}, Shape{T * local, H}}) {
    CAPTURE(shape.size());
    Tensor cpu_x = x.view(shape).clone().set_requires_grad(true), gpu_x = to_gpu(cpu_x);
    const Tensor ref = ops::dropout(cpu_x, 0.3, true, seed, offset, part);
    const Tensor got = ops::dropout(gpu_x, 0.3, true, seed, offset, part);
    REQUIRE(got.device() == Device::CUDA);
    check_close("the part's dropout against the CPU's", got.to_vector(), ref.to_vector(), Tolerance{0, 0});
    check_close("the part's dropout against the whole batch's rows", got.to_vector(), whole_rows, Tolerance{0, 0});
    const Tensor seed_grad = Tensor::uniform(shape, -1, 1, 93, DType::F32);
    ref.backward(seed_grad);
    got.backward(to_gpu(seed_grad));
    check_close("the part's dropout gradient", gpu_x.grad().to_vector(), cpu_x.grad().to_vector(), Tolerance{0, 0});
  }
  CHECK_THROWS_WITH_AS(ops::dropout(to_gpu(x), 0.3, true, seed, offset, ops::BatchSlice{B, 5, 3}),
                       doctest::Contains("not windows [5, 8) of a batch of 7"), std::invalid_argument);
}

TEST_CASE("cuda: empty tensors (a batch of 0, a width of 0) are nothing to do, as on the CPU") {
  SKIP_WITHOUT_GPU();
  // No element to compare: what is checked is that nothing fails (no grid of 0 blocks, no
  // leading dimension of 0 handed to cuBLAS) and that the shapes and gradients come out as on
  // the CPU; k = 0 products give zeros.
  const Tolerance exact{0.0, 0.0};
  check_op(
      "add [0,5] + [5]", [](const V& in) { return ops::add(in[0], in[1]); }, {op_leaf({0, 5}, 1), op_leaf({5}, 2)},
      exact, exact);
  check_op(
      "mul [4,0] * [4,1]", [](const V& in) { return ops::mul(in[0], in[1]); }, {op_leaf({4, 0}, 3), op_leaf({4, 1}, 4)},
      exact, exact);
  check_op(
      "sigmoid [0,7]", [](const V& in) { return ops::sigmoid(in[0]); }, {op_leaf({0, 7}, 5)}, exact, exact);
  check_op(
      "matmul [0,5] x [5,3]", [](const V& in) { return ops::matmul(in[0], in[1]); },
      {op_leaf({0, 5}, 6), op_leaf({5, 3}, 7)}, exact, exact);
  check_op(
      "matmul [4,0] x [0,3] (k = 0: zeros)", [](const V& in) { return ops::matmul(in[0], in[1]); },
      {op_leaf({4, 0}, 8), op_leaf({0, 3}, 9)}, exact, exact);
  check_op(
      "linear [0,6] with bias", [](const V& in) { return ops::linear(in[0], in[1], in[2]); },
      {op_leaf({0, 6}, 10), op_leaf({3, 6}, 11), op_leaf({3}, 12)}, exact, exact);
  check_op(
      "softmax [0,6]", [](const V& in) { return ops::softmax(in[0]); }, {op_leaf({0, 6}, 13)}, exact, exact);
  check_op(
      "log_softmax [0,6]", [](const V& in) { return ops::log_softmax(in[0]); }, {op_leaf({0, 6}, 14)}, exact, exact);
  check_op(
      "dropout [0,6]", [](const V& in) { return ops::dropout(in[0], 0.5, true, 7, 0); }, {op_leaf({0, 6}, 15)}, exact,
      exact);
  check_op(
      "sum [0,3]", [](const V& in) { return ops::sum(in[0]); }, {op_leaf({0, 3}, 16)}, exact, exact);
  check_op(
      "concat [0,3] and [2,3]",
      [](const V& in) {
        return ops::concat({in[0], in[1]}, 0);
      },
      {op_leaf({0, 3}, 17), op_leaf({2, 3}, 18)}, kRounding, kRounding);
  // The LSTM with a batch of 0: outputs [T, 0, H], every gradient of the weights zero.
  ops::LstmWeights w{op_leaf({4 * 3, 2}, 19), op_leaf({4 * 3, 3}, 20), op_leaf({4 * 3}, 21), op_leaf({4 * 3}, 22)};
  check_op(
      "lstm with a batch of 0",
      [](const V& in) {
        return ops::lstm(in[0], Tensor(), Tensor(), {in[1], in[2], in[3], in[4]}).y;
      },
      {op_leaf({5, 0, 2}, 23), w.w_ih, w.w_hh, w.b_ih, w.b_hh}, exact, exact);
}

TEST_CASE("cuda: mixing CPU and CUDA tensors throws naming the op") {
  SKIP_WITHOUT_GPU();
  const Tensor cpu = Tensor::uniform({3, 4}, -1, 1, 130), gpu = cpu.to(Device::CUDA);
  const Tensor cpu_sq = Tensor::uniform({4, 4}, -1, 1, 131), gpu_sq = cpu_sq.to(Device::CUDA);
  CHECK_THROWS_WITH_AS(ops::add(cpu, gpu), doctest::Contains("add: b is float32 [3, 4] on cuda"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::add(gpu, cpu), doctest::Contains("add: b is float32 [3, 4]"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::mul(gpu, cpu), doctest::Contains("mul:"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::matmul(cpu, gpu_sq), doctest::Contains("matmul: b is float32 [4, 4] on cuda"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::matmul(gpu, cpu_sq), doctest::Contains("matmul: b is float32 [4, 4]"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::concat({gpu, cpu}, 0), doctest::Contains("concat:"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::embedding(gpu, Tensor::from_indices({1}, {0})), doctest::Contains("embedding:"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::cross_entropy_logits(gpu, Tensor::from_indices({3}, {0, 1, 2})),
                       doctest::Contains("cross_entropy_logits: targets"), std::invalid_argument);
  // The LSTM: x on one device, a weight or the state on the other.
  const int64_t H = 4;
  const ops::LstmWeights w_cpu{Tensor::uniform({4 * H, 3}, -1, 1, 132), Tensor::uniform({4 * H, H}, -1, 1, 133),
                               Tensor::zeros({4 * H}), Tensor::zeros({4 * H})};
  const ops::LstmWeights w_gpu{w_cpu.w_ih.to(Device::CUDA), w_cpu.w_hh.to(Device::CUDA), w_cpu.b_ih.to(Device::CUDA),
                               w_cpu.b_hh.to(Device::CUDA)};
  ops::LstmWeights w_mixed = w_gpu;
  w_mixed.w_hh = w_cpu.w_hh;
  const Tensor x_cpu = Tensor::uniform({2, 1, 3}, -1, 1, 134), x_gpu = x_cpu.to(Device::CUDA);
  const Tensor h_cpu = Tensor::zeros({1, H});
  CHECK_THROWS_WITH_AS(ops::lstm(x_gpu, Tensor(), Tensor(), w_cpu), doctest::Contains("lstm: x is"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::lstm(x_cpu, Tensor(), Tensor(), w_gpu), doctest::Contains("lstm: x is"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::lstm(x_gpu, Tensor(), Tensor(), w_mixed), doctest::Contains("W_hh"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::lstm(x_gpu, h_cpu, Tensor(), w_gpu), doctest::Contains("lstm: x is"),
                       std::invalid_argument);
  // float64 on the GPU is storage only: the ops refuse it by name.
  const Tensor gpu64 = Tensor::uniform({3, 4}, -1, 1, 135, DType::F64).to(Device::CUDA);
  CHECK_THROWS_WITH_AS(ops::add(gpu64, gpu64), doctest::Contains("add: a is float64 [3, 4] on cuda"),
                       std::invalid_argument);
}

// Runs everywhere: CI has no GPU, and this is what a user without one meets.
TEST_CASE("cuda: a CUDA tensor without a GPU is a clear error; with one, values round-trip exactly") {
  if (cuda_device_count() == 0) {
    std::string message;
    try {
      Tensor::empty({4}, DType::F32, Device::CUDA);
    } catch (const std::exception& e) {
      message = e.what();
    }
    INFO("message: " << message);
    REQUIRE_FALSE(message.empty());  // it threw
    // Without the backend the message says so; with it, that there is no GPU (not the runtime's
    // "driver version is insufficient", which is what it reports where no driver is installed).
    if (!cuda_built()) {
      CHECK(message.find("no CUDA backend") != std::string::npos);
    } else {
      CHECK(message.find("no CUDA GPU found") != std::string::npos);
    }
    // The failure leaves nothing behind: asking again fails the same way, and the CPU works.
    CHECK_THROWS_AS(Tensor::zeros({4}, DType::F32, Device::CUDA), std::exception);
    CHECK(Tensor::full({2}, 3.0).to_vector() == std::vector<double>{3.0, 3.0});
    return;
  }
  // Values that a conversion would disturb: signed zero, a subnormal, huge and tiny magnitudes, NaN.
  const std::vector<double> values = {0.0, -0.0, 1.0, -2.5, 1e-40, 3.4e38, -1.17549435e-38, 0.1, std::nan("")};
  for (DType dtype : {DType::F32, DType::F64}) {
    CAPTURE(to_string(dtype));
    const Tensor cpu = Tensor::from_values({3, 3}, values, dtype);
    const Tensor gpu = cpu.to(Device::CUDA);
    CHECK(gpu.device() == Device::CUDA);
    CHECK(gpu.shape() == cpu.shape());
    const Tensor back = gpu.to(Device::CPU);
    REQUIRE(back.dtype() == dtype);
    CHECK(std::memcmp(back.raw_data(), cpu.raw_data(), static_cast<size_t>(cpu.numel()) * dtype_size(dtype)) == 0);
    CHECK(gpu.at(3) == -2.5);
    CHECK(std::memcmp(gpu.clone().to(Device::CPU).raw_data(), cpu.raw_data(), 9 * dtype_size(dtype)) == 0);
  }
  const Tensor ids = Tensor::from_indices({4}, {0, -7, 2147483647, 42}).to(Device::CUDA);
  CHECK(ids.to_vector() == std::vector<double>{0, -7, 2147483647, 42});
  CHECK(Tensor::zeros({1000}, DType::F32, Device::CUDA).to_vector() == std::vector<double>(1000, 0.0));
  CHECK(Tensor::full({5}, -1.5, DType::F32, Device::CUDA).to_vector() == std::vector<double>(5, -1.5));
  CHECK(Tensor::full({5}, 0.1, DType::F64, Device::CUDA).to_vector() == std::vector<double>(5, 0.1));
  CHECK(Tensor::full({}, 7.0, DType::F32, Device::CUDA).item() == 7.0);
  // A conversion on the way in (float64 on the host into float32 on the GPU).
  Tensor dst = Tensor::zeros({3}, DType::F32, Device::CUDA);
  dst.copy_from(Tensor::from_values({3}, {0.1, 2.0, -3.0}, DType::F64));
  CHECK(dst.to_vector() == std::vector<double>{static_cast<float>(0.1), 2.0, -3.0});
  // A view (one row) copied back reads the right elements.
  const Tensor rows = Tensor::from_values({3, 2}, {1, 2, 3, 4, 5, 6}).to(Device::CUDA);
  CHECK(rows.rows(1, 2).to_vector() == std::vector<double>{3, 4, 5, 6});
}
