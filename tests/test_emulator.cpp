// The CPU emulator of the kernels checks itself: threads see their indices, barriers hold, orders
// are shuffled (so an order-dependent kernel fails), shared memory is per block and starts as
// garbage, launches are validated as the driver does, cooperative grids synchronise, and the
// cuBLAS stand-in checks its arguments. Only in legato_emulated_gpu_tests.
#include <doctest/doctest.h>

#include <cublas_v2.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda_emulator/emulator.h"
#include "cuda_emulator/probe_kernels.h"
#include "engine/cuda/device_allocator.h"
#include "engine/cuda/gemm.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "kernels/device_buffer.h"
#include "kernels/elementwise.h"
#include "model/generator_persistent.h"
#include "model/music_lstm.h"

using namespace legato;
using kernels::DeviceArray;
using kernels::DeviceBuffer;

namespace {

// Sets the emulator's seed for a test, and puts the suite's own back afterwards.
struct SeedScope {
  uint64_t saved = emu::seed();
  explicit SeedScope(uint64_t seed) { emu::set_seed(seed); }
  ~SeedScope() { emu::set_seed(saved); }
};

// Sets the emulator's fill byte for a test, and puts the suite's own back afterwards.
struct FillScope {
  uint8_t saved = emu::fill();
  explicit FillScope(uint8_t byte) { emu::set_fill(byte); }
  ~FillScope() { emu::set_fill(saved); }
};

// Whether every float's bytes are the fill byte's.
bool all_fill(const std::vector<float>& values, uint8_t byte) {
  std::vector<unsigned char> bytes(values.size() * sizeof(float));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return std::all_of(bytes.begin(), bytes.end(), [&](unsigned char b) { return b == byte; });
}

// Turns the cross-block check on or off for a test, with the caching allocator's blocks given
// back on the way in and out (the check sees only allocations made while it is on).
struct CrossBlockScope {
  bool saved = emu::cross_block_check();
  explicit CrossBlockScope(bool on) {
    cuda::device_release_cache();
    emu::set_cross_block_check(on);
  }
  ~CrossBlockScope() {
    cuda::device_release_cache();
    emu::set_cross_block_check(saved);
  }
};

// Turns the shared-memory race check on or off for a test, and back afterwards.
struct RaceScope {
  bool saved = emu::shared_race_check();
  explicit RaceScope(bool on) { emu::set_shared_race_check(on); }
  ~RaceScope() { emu::set_shared_race_check(saved); }
};

// Sets the emulated device's SM count for a test, and puts the suite's own back afterwards.
struct SmsScope {
  unsigned saved = emu::sms();
  explicit SmsScope(unsigned sms) { REQUIRE(emu::set_sms(sms)); }
  ~SmsScope() { emu::set_sms(saved); }
};

// The message of the exception that f throws ("" when it throws none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("emulator: every thread of a 3-D grid of 3-D blocks runs once and sees its own indices") {
  const dim3 grid(3, 2, 2), block(5, 4, 3);
  const size_t blocks = 12, threads = 60;
  DeviceBuffer out(blocks * threads);
  out.zero();
  emu::probe::indices(grid, block, out.get());
  const auto got = out.download();
  for (size_t b = 0; b < blocks; ++b)
    for (size_t t = 0; t < threads; ++t) REQUIRE(got[b * threads + t] == static_cast<float>(b) * 1e6f + t);
}

TEST_CASE("emulator: threads run in a shuffled order that the seed decides") {
  auto order_for = [](uint64_t seed) {
    SeedScope scope(seed);
    DeviceArray<int> order(256);
    emu::probe::run_order(order.get());
    return order.download();
  };
  const auto a = order_for(7), b = order_for(8), a_again = order_for(7);
  std::vector<int> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int> identity(256);
  std::iota(identity.begin(), identity.end(), 0);
  CHECK(sorted == identity);  // every thread ran once
  CHECK(a != identity);       // not in index order
  CHECK(a != b);              // another seed, another order
  CHECK(a == a_again);        // the same seed, the same order
}

TEST_CASE("emulator: a reduction is right under every order with its barriers, and wrong under some without") {
  std::vector<float> x(256);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 7) + 1.0f;  // small integers: exact sums
  const float exact = std::accumulate(x.begin(), x.end(), 0.0f);
  DeviceBuffer d_x(x), d_out(1);
  int wrong_without = 0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    SeedScope scope(seed);
    emu::probe::tree_sum(d_x.get(), d_out.get(), true);
    CHECK(d_out.download()[0] == exact);
    emu::probe::tree_sum(d_x.get(), d_out.get(), false);
    wrong_without += d_out.download()[0] != exact;
  }
  CHECK(wrong_without > 0);
}

TEST_CASE("emulator: a __syncthreads() that some threads of the block never reach is an error") {
  const std::string error = error_of([] { emu::probe::divergent_barrier(); });
  CHECK(error.find("divergent_barrier_kernel") != std::string::npos);
  CHECK(error.find("__syncthreads() reached by 253 thread(s) while 3 had returned") != std::string::npos);
  // The emulator is usable again afterwards.
  DeviceBuffer out(2 * 8);
  emu::probe::indices(dim3(2), dim3(8), out.get());
  CHECK(out.download()[15] == 1e6f + 7);
}

TEST_CASE("emulator: shared memory and fresh device memory start as the fill byte, not as zeros") {
  for (uint8_t byte : {0xFF, 0x7F}) {
    CAPTURE(int(byte));
    const FillScope scope(byte);
    DeviceBuffer out(64);
    emu::probe::read_unwritten_shared(out.get(), 64);
    CHECK(all_fill(out.download(), byte));
    void* fresh = nullptr;
    REQUIRE(cudaMalloc(&fresh, 100) == cudaSuccess);
    std::vector<float> first(25);
    std::memcpy(first.data(), fresh, 100);
    CHECK(all_fill(first, byte));
    cudaFree(fresh);
  }
  const FillScope nan(0xFF);  // the default: NaN as float
  DeviceBuffer out(8);
  emu::probe::read_unwritten_shared(out.get(), 8);
  for (float v : out.download()) CHECK(std::isnan(v));
}

TEST_CASE("emulator: a launch the driver would refuse fails with its error, naming the kernel and the geometry") {
  struct Case {
    const char* what;
    dim3 grid, block;
    size_t shared;
  };
  const Case bad[] = {{"no blocks", dim3(0), dim3(32), 0},
                      {"no threads", dim3(1), dim3(0), 0},
                      {"1025 threads", dim3(1), dim3(1025), 0},
                      {"a 2-D block of 64 x 32 = 2048 threads", dim3(1), dim3(64, 32), 0},
                      {"block z over 64", dim3(1), dim3(1, 1, 65), 0},
                      {"grid y over 65535", dim3(1, 65536), dim3(32), 0},
                      {"48 KiB + 1 of dynamic shared memory", dim3(1), dim3(32), 48 * 1024 + 1}};
  for (const Case& c : bad) {
    CAPTURE(c.what);
    const std::string error = error_of([&] { emu::probe::empty_kernel(c.grid, c.block, c.shared); });
    CHECK(error.find("empty_kernel_kernel with grid (" + std::to_string(c.grid.x) + ", " + std::to_string(c.grid.y)) !=
          std::string::npos);
    CHECK(error.find("invalid configuration argument") != std::string::npos);
  }
  // The limits themselves are allowed.
  CHECK(error_of([] { emu::probe::empty_kernel(dim3(1, 1, 65535), dim3(1), 40 * 1024); }) == "");
  CHECK(error_of([] { emu::probe::empty_kernel(dim3(1), dim3(1, 1, 64), 0); }) == "");
  CHECK(error_of([] { emu::probe::empty_kernel(dim3(1), dim3(1024), 0); }) == "");
  const std::string big = error_of([] { emu::probe::big_shared_kernel(); });
  CHECK(big.find("big_shared_kernel_kernel") != std::string::npos);
  CHECK(big.find("invalid configuration argument") != std::string::npos);
}

TEST_CASE("emulator: a cooperative grid synchronises, each block keeps its own shared memory, and size is limited") {
  for (uint64_t seed : {1, 2}) {
    SeedScope scope(seed);
    const int blocks = 5, threads = 64;
    DeviceBuffer ids(blocks), sums(blocks), seen(blocks * threads);
    emu::probe::grid_sum(blocks, threads, ids.get(), sums.get(), seen.get());
    for (float s : sums.download()) CHECK(s == 0 + 1 + 2 + 3 + 4);
    const auto got = seen.download();
    for (int b = 0; b < blocks; ++b)
      for (int t = 0; t < threads; ++t) REQUIRE(got[b * threads + t] == static_cast<float>(b));
  }
  const int too_many = static_cast<int>(emu::sms()) + 1;
  DeviceBuffer ids(too_many), sums(too_many), seen(too_many * 32);
  const std::string error = error_of([&] { emu::probe::grid_sum(too_many, 32, ids.get(), sums.get(), seen.get()); });
  CHECK(error.find("too many blocks in cooperative launch") != std::string::npos);
  CHECK(error_of([] { emu::probe::grid_sync_not_cooperative(); }).find("not launched cooperatively") !=
        std::string::npos);
}

TEST_CASE(
    "emulator: the SM count is the device's (132 as an H100's), and a cooperative grid may have one block per SM") {
  const SmsScope h100(132);
  int sms = 0;
  REQUIRE(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0) == cudaSuccess);
  CHECK(sms == 132);
  cudaDeviceProp prop;
  REQUIRE(cudaGetDeviceProperties(&prop, 0) == cudaSuccess);
  CHECK(prop.multiProcessorCount == 132);
  CHECK(!emu::set_sms(0));  // refused, and nothing changed
  CHECK(emu::sms() == 132);
  // The seed network's grid (128 blocks of 256 threads: 32768 fibers at once) runs and synchronises.
  const int blocks = 128, threads = 256;
  DeviceBuffer ids(blocks), sums(blocks), seen(blocks * threads);
  emu::probe::grid_sum(blocks, threads, ids.get(), sums.get(), seen.get());
  for (float s : sums.download()) REQUIRE(s == 127.0f * 128.0f / 2.0f);
  const auto got = seen.download();
  for (int b = 0; b < blocks; ++b)
    REQUIRE(got[static_cast<size_t>(b) * threads + threads - 1] == static_cast<float>(b));
  DeviceBuffer many(133), many_sums(133), many_seen(133 * 32);
  CHECK(error_of([&] { emu::probe::grid_sum(132, 32, many.get(), many_sums.get(), many_seen.get()); }) == "");
  CHECK(error_of([&] {
          emu::probe::grid_sum(133, 32, many.get(), many_sums.get(), many_seen.get());
        }).find("too many blocks in cooperative launch") != std::string::npos);
}

namespace {

model::ModelConfig fill_config(model::InputKind input) {
  model::ModelConfig c;
  c.vocab = 23;
  c.input = input;
  c.embedding_dim = 6;
  c.hidden = 19;
  c.layers = 2;
  c.dropout = 0.25;
  c.dense = 11;
  c.dense_relu = true;
  c.seed = 4;
  return c;
}

// `steps` training steps (forward with dropout, loss, backward, RMSprop) and a persistent composition
// of a small network on the device, from fresh device memory (the cache given back first, so
// every buffer is a new cudaMalloc's, filled with the fill byte) and the same block orders: every
// loss, parameter and logit, to be compared bit for bit.
std::vector<float> kernels_under_fill(uint8_t byte, model::InputKind input, int steps = 2) {
  const FillScope fill(byte);
  const SeedScope order(3);
  cuda::device_release_cache();
  model::MusicLSTM net(fill_config(input));
  net.to(Device::CUDA);
  optim::Rmsprop opt(net.parameters(), {0.01, 0.9, 1e-3});
  model::DropoutStream dropout{5, 0, {}};
  std::vector<float> out;
  for (int step = 0; step < steps; ++step) {
    std::vector<int32_t> tokens(7 * 3), targets(7 * 3);
    for (size_t i = 0; i < tokens.size(); ++i) {
      tokens[i] = static_cast<int32_t>((i * 7 + step) % 23);
      targets[i] = static_cast<int32_t>((i * 5 + 3) % 23);
    }
    const Tensor logits = net.forward(Tensor::from_indices({7, 3}, tokens), false, true, dropout);
    Tensor loss = ops::cross_entropy_logits(logits, Tensor::from_indices({21}, targets).to(Device::CUDA));
    out.push_back(static_cast<float>(loss.item()));
    loss.backward();
    opt.step();
    opt.zero_grad();
  }
  for (const auto& p : net.parameters())
    for (double v : p.tensor.to_vector()) out.push_back(static_cast<float>(v));
  std::vector<float> logits;
  model::SamplingOptions sampling;
  sampling.temperature = 1.2;
  const auto made = model::compose_persistent(net, {1, 2}, 5, sampling, {}, -1, 9, {}, &logits);
  REQUIRE(made.has_value());
  for (int32_t t : *made) out.push_back(static_cast<float>(t));
  out.insert(out.end(), logits.begin(), logits.begin() + 6 * 23);  // the steps that ran (the last is never fed)
  return out;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("emulator: a kernel that reads shared memory nobody wrote gives other bits under another fill byte") {
  // The planted bug the comparison below exists to catch.
  auto run = [](uint8_t byte) {
    const FillScope fill(byte);
    DeviceBuffer out(32);
    emu::probe::read_unwritten_shared(out.get(), 32);
    return out.download();
  };
  CHECK(!same_bits(run(0xFF), run(0x00)));
}

TEST_CASE("emulator: the kernels give bit-identical results whatever uninitialised memory holds") {
  for (auto input : {model::InputKind::Scalar, model::InputKind::Embedding}) {
    CAPTURE(input == model::InputKind::Embedding);
    const std::vector<float> nan = kernels_under_fill(0xFF, input), zero = kernels_under_fill(0x00, input);
    CHECK(nan.size() > 1000);
    CHECK(std::none_of(nan.begin(), nan.end(), [](float v) { return std::isnan(v); }));
    CHECK(same_bits(nan, zero));
  }
}

TEST_CASE("emulator: with the cross-block check, a block that reads another block's write of the launch is an error") {
  const CrossBlockScope check(true);
  DeviceBuffer data(4), out(4);  // allocated under the check: checked
  CHECK(error_of([&] { emu::probe::cross_block_read(4, false, data.get(), out.get()); }) == "");
  CHECK(out.download() == std::vector<float>{0, 1, 2, 3});
  for (uint64_t seed : {1, 2, 3}) {  // whichever block runs first, the read or the write is caught
    const SeedScope order(seed);
    const std::string error = error_of([&] { emu::probe::cross_block_read(4, true, data.get(), out.get()); });
    CAPTURE(error);
    CHECK(error.find("cross_block_read_kernel: block (") == 0);
    CHECK(error.find("of the device buffer of 16 bytes at 0x") != std::string::npos);
    CHECK(error.find("that block (") != std::string::npos);
    CHECK(error.find("in the same launch") != std::string::npos);
  }
  // Atomics of different blocks on one address are what atomics are for.
  DeviceArray<int> counter(std::vector<int>{0});
  CHECK(error_of([&] { emu::probe::count_blocks(5, counter.get()); }) == "");
  CHECK(counter.download()[0] == 5);
}

TEST_CASE(
    "emulator: in a cooperative grid, a read of another block's write needs a ready flag or grid.sync() between") {
  const CrossBlockScope check(true);
  DeviceBuffer data(4 * 32), out(4 * 32);  // allocated under the check: checked
  DeviceArray<int> flags(std::vector<int>(4, 0));
  std::vector<float> expected(4 * 32);
  for (int b = 0; b < 4; ++b)
    for (int t = 0; t < 32; ++t) expected[b * 32 + t] = static_cast<float>((b + 1) % 4 * 100 + t);
  for (uint64_t seed : {1, 2, 3}) {  // whichever block runs first
    const SeedScope order(seed);
    CHECK(error_of([&] { emu::probe::ready_flag_pass(4, 0, data.get(), flags.get(), out.get()); }) == "");
    CHECK(out.download() == expected);
    for (int variant : {1, 2}) {  // a release before the block's barrier, a missing wait
      CAPTURE(variant);
      const std::string error =
          error_of([&] { emu::probe::ready_flag_pass(4, variant, data.get(), flags.get(), out.get()); });
      CAPTURE(error);
      CHECK(error.find("ready_flag_kernel: block (") == 0);
      CHECK(error.find("of the device buffer of 512 bytes at 0x") != std::string::npos);
      CHECK(error.find("with no grid.sync() or ready flag between") != std::string::npos);
    }
    const std::string deadlock =
        error_of([&] { emu::probe::ready_flag_pass(4, 3, data.get(), flags.get(), out.get()); });
    CAPTURE(deadlock);
    CHECK(deadlock.find("waits for a ready flag to reach 2 (it holds 1) while no other thread can move") !=
          std::string::npos);
  }
}

TEST_CASE("emulator: a training step's kernels read no other block's writes, and give the same bits under the check") {
  // Embedding input (its backward's atomics included); every access costs signals: one input kind.
  for (auto input : {model::InputKind::Embedding}) {
    const std::vector<float> unchecked = kernels_under_fill(0xFF, input, 1);
    const CrossBlockScope check(true);
    const uint64_t before = emu::cross_block_accesses();
    std::vector<float> checked;
    CHECK(error_of([&] { checked = kernels_under_fill(0xFF, input, 1); }) == "");
    CHECK(same_bits(checked, unchecked));
    CHECK(emu::cross_block_accesses() - before > 10000);  // the kernels' accesses were checked
  }
}

TEST_CASE("emulator: with the race check, two threads on one shared byte with no barrier between is an error") {
  const RaceScope check(true);
  DeviceBuffer x(std::vector<float>(256, 1.0f)), out(1);
  CHECK(error_of([&] { emu::probe::tree_sum(x.get(), out.get(), true); }) == "");
  CHECK(out.download()[0] == 256.0f);
  for (uint64_t seed : {1, 2, 3}) {  // whichever thread runs first
    const SeedScope order(seed);
    const std::string error = error_of([&] { emu::probe::tree_sum(x.get(), out.get(), false); });
    CAPTURE(error);
    CHECK(error.find("tree_sum_kernel: block (0, 0, 0): threads (") == 0);
    CHECK(error.find("of its static __shared__ memory: a write and a read with no __syncthreads()") !=
          std::string::npos);
    const std::string dynamic = error_of([&] { emu::probe::dynamic_race(out.get()); });
    CAPTURE(dynamic);
    CHECK(dynamic.find("dynamic_race_kernel: block (0, 0, 0): threads (") == 0);
    CHECK((dynamic.find("(1, 0, 0) and (5, 0, 0)") != std::string::npos ||
           dynamic.find("(5, 0, 0) and (1, 0, 0)") != std::string::npos));
    CHECK(dynamic.find("race on byte 4 of its dynamic shared memory: two writes") != std::string::npos);
  }
  // Dynamic shared memory with its barriers, alone and in a cooperative grid: no race.
  for (bool cooperative : {false, true}) {
    DeviceBuffer first(3 * 64), seen(3 * 64);
    CHECK(error_of([&] {
            emu::probe::dynamic_shared(3, 64, 1000 * sizeof(float), cooperative, first.get(), seen.get());
          }) == "");
    CHECK(seen.download()[0] == 999.0f);
  }
}

TEST_CASE("emulator: a training step's kernels have no shared-memory race, and give the same bits under the check") {
  // Scalar input (the other kind is the cross-block test's); every access costs signals: one kind.
  for (auto input : {model::InputKind::Scalar}) {
    const std::vector<float> unchecked = kernels_under_fill(0xFF, input, 1);
    const RaceScope check(true);
    const uint64_t before = emu::counters().shared_accesses;
    std::vector<float> checked;
    CHECK(error_of([&] { checked = kernels_under_fill(0xFF, input, 1); }) == "");
    CHECK(same_bits(checked, unchecked));
    CHECK(emu::counters().shared_accesses - before > 10000);  // the kernels' shared accesses were checked
  }
}

TEST_CASE("emulator: warp shuffles, ballots and __syncwarp exchange the lanes' values") {
  for (uint64_t seed : {1, 2}) {
    const SeedScope order(seed);
    const int threads = 64;
    DeviceBuffer sums(threads), down(threads), broadcast(threads);
    DeviceArray<unsigned> ballots(threads);
    emu::probe::warp_primitives(threads, sums.get(), down.get(), broadcast.get(), ballots.get());
    const auto s = sums.download(), d = down.download(), b = broadcast.download();
    const auto votes = ballots.download();
    unsigned every_third = 0, even_low = 0;
    for (unsigned l = 0; l < 32; ++l) {
      every_third |= (l % 3 == 0 ? 1u : 0u) << l;
      even_low |= (l < 16 && l % 2 == 0 ? 1u : 0u) << l;
    }
    for (int t = 0; t < threads; ++t) {
      CAPTURE(t);
      const int warp = t / 32, lane = t % 32;
      CHECK(s[t] == static_cast<float>(32 * 31 / 2 + 32 * 32 * warp));
      CHECK(d[t] == static_cast<float>(lane < 29 ? t + 3 : t));
      CHECK(b[t] == static_cast<float>(32 * warp + 5));
      CHECK(votes[t] == (lane < 16 ? every_third ^ even_low : every_third));
    }
  }
}

TEST_CASE("emulator: a warp primitive whose mask lacks the caller, or names a lane that never comes, is an error") {
  const std::string without_caller = error_of([] { emu::probe::bad_warp_mask(0); });
  CAPTURE(without_caller);
  CHECK(without_caller.find("bad_warp_mask_kernel: block (0, 0, 0), thread (") == 0);
  CHECK(without_caller.find("__shfl_xor_sync with mask 0x0000ffff: the mask does not hold the calling lane") !=
        std::string::npos);
  const std::string missing = error_of([] { emu::probe::bad_warp_mask(1); });
  CAPTURE(missing);
  CHECK(missing.find("bad_warp_mask_kernel: block (0, 0, 0), thread (") == 0);
  CHECK(missing.find("__shfl_xor_sync with mask 0xffffffff: lane 16 named in the mask has returned") !=
        std::string::npos);
}

TEST_CASE("emulator: the cuBLAS stand-in refuses what cuBLAS documents as invalid values") {
  cublasHandle_t handle;
  REQUIRE(cublasCreate(&handle) == CUBLAS_STATUS_SUCCESS);
  std::vector<float> a(64, 1.0f), b(64, 1.0f), c(64, 0.0f);
  const float one = 1.0f, zero = 0.0f;
  // C [4, 3] = A [4, 2] B [2, 3], column-major, no transposes: lda >= 4, ldb >= 2, ldc >= 4.
  auto sgemm = [&](cublasOperation_t ta, int m, int n, int k, const float* A, int lda, int ldb, int ldc) {
    return cublasSgemm(handle, ta, CUBLAS_OP_N, m, n, k, &one, A, lda, b.data(), ldb, &zero, c.data(), ldc);
  };
  CHECK(sgemm(CUBLAS_OP_N, 4, 3, 2, a.data(), 4, 2, 4) == CUBLAS_STATUS_SUCCESS);
  CHECK(c[0] == 2.0f);
  CHECK(sgemm(CUBLAS_OP_N, 4, 3, 2, a.data(), 3, 2, 4) == CUBLAS_STATUS_INVALID_VALUE);  // lda < m
  CHECK(sgemm(CUBLAS_OP_T, 4, 3, 2, a.data(), 2, 2, 4) == CUBLAS_STATUS_SUCCESS);        // op(A) = A^T: lda >= k
  CHECK(sgemm(CUBLAS_OP_T, 4, 3, 2, a.data(), 1, 2, 4) == CUBLAS_STATUS_INVALID_VALUE);
  CHECK(sgemm(CUBLAS_OP_N, 4, 3, 2, a.data(), 4, 1, 4) == CUBLAS_STATUS_INVALID_VALUE);  // ldb < k
  CHECK(sgemm(CUBLAS_OP_N, 4, 3, 2, a.data(), 4, 2, 3) == CUBLAS_STATUS_INVALID_VALUE);  // ldc < m
  CHECK(sgemm(CUBLAS_OP_N, -1, 3, 2, a.data(), 4, 2, 4) == CUBLAS_STATUS_INVALID_VALUE);
  CHECK(sgemm(CUBLAS_OP_N, 4, 3, 2, nullptr, 4, 2, 4) == CUBLAS_STATUS_INVALID_VALUE);
  // Empty sizes are fine, but leading dimensions must still be at least 1.
  CHECK(sgemm(CUBLAS_OP_N, 0, 3, 2, nullptr, 1, 2, 1) == CUBLAS_STATUS_SUCCESS);
  CHECK(sgemm(CUBLAS_OP_N, 0, 3, 2, nullptr, 0, 2, 1) == CUBLAS_STATUS_INVALID_VALUE);
  CHECK(sgemm(CUBLAS_OP_N, 4, 3, 0, nullptr, 4, 1, 4) == CUBLAS_STATUS_SUCCESS);
}

TEST_CASE(
    "emulator: dynamic shared memory is the launch's bytes, per block, starting as NaN, in cooperative grids too") {
  for (bool cooperative : {false, true}) {
    CAPTURE(cooperative);
    const int blocks = 3, threads = 64;
    const size_t bytes = 1000 * sizeof(float);  // not a multiple of the block: the loop's tail too
    DeviceBuffer first(blocks * threads), seen(blocks * threads);
    emu::probe::dynamic_shared(blocks, threads, bytes, cooperative, first.get(), seen.get());
    CHECK(all_fill(first.download(), emu::fill()));
    const auto got = seen.download();
    for (int b = 0; b < blocks; ++b)
      for (int t = 0; t < threads; ++t) REQUIRE(got[b * threads + t] == static_cast<float>(b) * 1e6f + (999 - t));
  }
}

TEST_CASE("emulator: more than 48 KiB of dynamic shared memory only after cudaFuncSetAttribute, up to 227 KiB") {
  const auto refused = [](size_t bytes) {
    return error_of([&] { emu::probe::opt_in(bytes); }).find("invalid configuration argument") != std::string::npos;
  };
  CHECK(!refused(48 * 1024));
  CHECK(refused(48 * 1024 + 4));  // the default limit
  CHECK(emu::probe::raise_opt_in_limit(227 * 1024 + 1) == cudaErrorInvalidValue);
  CHECK(cudaGetLastError() == cudaErrorInvalidValue);  // a failed call is the last error, as in the runtime
  CHECK(emu::probe::raise_opt_in_limit(100 * 1024) == cudaSuccess);
  CHECK(!refused(100 * 1024));
  CHECK(refused(100 * 1024 + 4));  // beyond what was opted in to
  CHECK(emu::probe::raise_opt_in_limit(227 * 1024) == cudaSuccess);
  CHECK(!refused(227 * 1024));
  CHECK(refused(227 * 1024 + 4));
  // Other kernels keep the default.
  CHECK(error_of([] {
          emu::probe::empty_kernel(dim3(1), dim3(32), 48 * 1024 + 4);
        }).find("invalid configuration argument") != std::string::npos);
  int sms = 0, optin = 0;
  REQUIRE(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0) == cudaSuccess);
  REQUIRE(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0) == cudaSuccess);
  CHECK(sms == static_cast<int>(emu::sms()));
  CHECK(optin == 227 * 1024);
}

// ---- streams and events (emulator.h, "Streams and events") ------------------------------------

namespace {

// A non-blocking stream, destroyed at the end of the scope (its queued work runs first).
struct Stream {
  cudaStream_t s = nullptr;
  explicit Stream(unsigned flags = cudaStreamNonBlocking) {
    REQUIRE(cudaStreamCreateWithFlags(&s, flags) == cudaSuccess);
  }
  ~Stream() { cudaStreamDestroy(s); }
};
struct Event {
  cudaEvent_t e = nullptr;
  Event() { REQUIRE(cudaEventCreateWithFlags(&e, cudaEventDisableTiming) == cudaSuccess); }
  ~Event() { cudaEventDestroy(e); }
};

// x = 2 (a fill, then a doubling) on stream a; y = 10 x on stream b, after an event on a when
// `wait`; the value y ends with. Either stream blocking (the engine's kind) or not.
float producer_consumer(bool wait, unsigned a_flags = cudaStreamNonBlocking, unsigned b_flags = cudaStreamNonBlocking) {
  const Stream a(a_flags), b(b_flags);
  const Event done;
  DeviceArray<float> x(std::vector<float>(8, 0.0f)), y(std::vector<float>(8, -1.0f));
  kernels::fill_launch(x.get(), 8, 1.0f, a.s);
  kernels::scale_launch(x.get(), x.get(), 8, 2.0f, a.s);
  REQUIRE(cudaEventRecord(done.e, a.s) == cudaSuccess);
  if (wait) REQUIRE(cudaStreamWaitEvent(b.s, done.e, 0) == cudaSuccess);
  kernels::scale_launch(x.get(), y.get(), 8, 10.0f, b.s);
  REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
  return y.download()[0];
}

}  // namespace

TEST_CASE("emulator: a non-blocking stream queues launches, copies and cuBLAS calls until the host waits") {
  const Stream s;
  DeviceArray<float> x(std::vector<float>(6, 0.0f)), c(std::vector<float>(4, 0.0f));
  const size_t before = emu::pending_work();
  kernels::fill_launch(x.get(), 6, 3.0f, s.s);
  REQUIRE(cudaMemsetAsync(c.get(), 0, 4 * sizeof(float), s.s) == cudaSuccess);
  cublasHandle_t blas;
  REQUIRE(cublasCreate(&blas) == CUBLAS_STATUS_SUCCESS);
  REQUIRE(cublasSetStream(blas, s.s) == CUBLAS_STATUS_SUCCESS);
  // c [2, 2] = x [2, 3] x^T [3, 2], row-major: every element 3 * 3 * 3 = 27 once the fill has run.
  cuda::gemm_rm(blas, false, true, 2, 2, 3, 1.0f, x.get(), 3, x.get(), 3, 0.0f, c.get(), 2);
  CHECK(emu::pending_work() == before + 3);
  float host[6];
  std::memcpy(host, x.get(), sizeof host);  // the emulator's device memory is host memory: look without waiting
  CHECK(host[0] == 0.0f);                   // nothing ran yet
  REQUIRE(cudaStreamSynchronize(s.s) == cudaSuccess);
  CHECK(emu::pending_work() == before);
  CHECK(x.download() == std::vector<float>(6, 3.0f));
  CHECK(c.download() == std::vector<float>(4, 27.0f));
  cublasDestroy(blas);
  // A blocking stream queues too; the legacy default stream runs its work at once, after the
  // blocking streams' queued work.
  const Stream blocking(cudaStreamDefault);
  kernels::fill_launch(x.get(), 6, 5.0f, blocking.s);
  std::memcpy(host, x.get(), sizeof host);
  CHECK(host[5] == 3.0f);  // not yet
  kernels::scale_launch(x.get(), x.get(), 6, 2.0f, nullptr);
  std::memcpy(host, x.get(), sizeof host);
  CHECK(host[5] == 10.0f);  // the blocking stream's fill, then the legacy stream's doubling
}

TEST_CASE("emulator: without an event between two streams some seed runs them in the wrong order; with it none") {
  std::set<float> without;
  for (uint64_t seed = 1; seed <= 16; ++seed) {
    const SeedScope scope(seed);
    CHECK_MESSAGE(producer_consumer(true) == 20.0f, "seed " << seed);
    without.insert(producer_consumer(false));
  }
  // Unordered, b's product ran before a's fill (0), between the fill and the doubling (10), or after (20).
  CHECK(without.size() >= 2);
  CHECK(without.count(20.0f) == 1);
}

TEST_CASE("emulator: a fork or a join without an event shows under some seed, blocking streams included") {
  std::set<float> fork, join;
  for (uint64_t seed = 1; seed <= 16; ++seed) {
    const SeedScope scope(seed);
    // Fork: the engine's kind of stream (blocking) makes x; a non-blocking stream reads it.
    CHECK_MESSAGE(producer_consumer(true, cudaStreamDefault, cudaStreamNonBlocking) == 20.0f, "seed " << seed);
    fork.insert(producer_consumer(false, cudaStreamDefault, cudaStreamNonBlocking));
    // Join: a non-blocking stream makes x; a blocking stream reads it.
    CHECK_MESSAGE(producer_consumer(true, cudaStreamNonBlocking, cudaStreamDefault) == 20.0f, "seed " << seed);
    join.insert(producer_consumer(false, cudaStreamNonBlocking, cudaStreamDefault));
  }
  CHECK(fork.size() >= 2);
  CHECK(join.size() >= 2);
}

TEST_CASE("emulator: the legacy stream's wait runs the queued work it waits for; a never-recorded event is no wait") {
  const Stream a;
  const Event done, never;
  DeviceArray<float> x(std::vector<float>(4, 0.0f));
  kernels::fill_launch(x.get(), 4, 7.0f, a.s);
  REQUIRE(cudaEventRecord(done.e, a.s) == cudaSuccess);
  REQUIRE(cudaStreamWaitEvent(nullptr, never.e, 0) == cudaSuccess);  // returns at once
  REQUIRE(cudaStreamWaitEvent(nullptr, done.e, 0) == cudaSuccess);
  float host[4];
  std::memcpy(host, x.get(), sizeof host);
  CHECK(host[3] == 7.0f);
  REQUIRE(cudaEventSynchronize(done.e) == cudaSuccess);
  CHECK(cudaStreamWaitEvent(nullptr, nullptr, 0) == cudaErrorInvalidValue);
  cudaGetLastError();
}

// The emulated NCCL's wait for the other ranks (tests/cuda_emulator/nccl.cpp): a stream held by
// another process's part is not ready, and its later work waits, until that part is over; a
// synchronisation polls it to the end (here the third poll ends it).
TEST_CASE("emulator: a wait for another process holds its stream: the query is not ready until it is over") {
  const Stream engine(cudaStreamDefault);  // blocking, as the engine's stream
  DeviceArray<float> x(std::vector<float>(4, 0.0f));
  bool peer_done = false;
  legato::emu::defer_outside_wait(engine.s, [&] { return peer_done; });
  kernels::fill_launch(x.get(), 4, 7.0f, engine.s);
  CHECK(cudaStreamQuery(engine.s) == cudaErrorNotReady);
  CHECK(cudaStreamQuery(engine.s) == cudaErrorNotReady);
  CHECK(x.get()[3] == 0.0f);  // the fill waits behind the outside wait
  peer_done = true;
  CHECK(cudaStreamQuery(engine.s) == cudaSuccess);
  CHECK(x.get()[3] == 7.0f);
  int polls = 0;
  legato::emu::defer_outside_wait(engine.s, [&] { return ++polls == 3; });
  kernels::fill_launch(x.get(), 4, 9.0f, engine.s);
  REQUIRE(cudaStreamSynchronize(engine.s) == cudaSuccess);
  CHECK(polls == 3);
  CHECK(x.get()[3] == 9.0f);
}
