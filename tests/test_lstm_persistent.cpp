// The persistent generator (kernels/lstm_persistent.cu through model::compose_persistent): every
// step's logits against a float64 CPU reference fed the same tokens, greedy tokens against the CPU
// generator's, sampling's rules (top-k, banned tokens, EOS, the listener), reproducibility under
// other block orders, and which networks fit on chip; the seed network itself (3 x 512) on an
// H100's grid of 128 blocks. Small sizes are not multiples of 32; 1 to 4
// layers; scalar and embedding input; vocabularies 2 to 2000. Skipped, visibly, without a GPU;
// run on the CPU emulator of the kernels in legato_emulated_gpu_tests.
#include <doctest/doctest.h>

#if defined(LEGATO_HAVE_CUDA)  // the kernel's host code exists only where the CUDA code is built or emulated
#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(LEGATO_EMULATED_GPU)
#include "cuda_emulator/emulator.h"
#endif

#include "engine/cuda/device_allocator.h"
#include "gpu.h"
#include "kernels/device_buffer.h"
#include "kernels/lstm.h"
#include "kernels/lstm_persistent.h"
#include "kernels/sampling.h"
#include "model/generator.h"
#include "model/generator_persistent.h"
#include "model/music_lstm.h"

using namespace legato;
using legato::testing::check_close;
using legato::testing::Tolerance;

namespace {

struct NetShape {
  int layers, hidden, embedding, vocab, dense;  // embedding 0: scalar input
  bool relu;
};

model::ModelConfig config_of(const NetShape& s, uint64_t seed = 3) {
  model::ModelConfig c;
  c.vocab = s.vocab;
  c.input = s.embedding ? model::InputKind::Embedding : model::InputKind::Scalar;
  c.embedding_dim = s.embedding;
  c.hidden = s.hidden;
  c.layers = s.layers;
  c.dense = s.dense;
  c.dense_relu = s.relu;
  c.seed = seed;
  return c;
}

std::vector<double> values(const Tensor& t) { return t.to(Device::CPU).to_vector(); }

// The network in float64 on the CPU, fed `tokens` one by one from a zero state: the logits
// [tokens, V] after each. The truth the kernel's float32 is held to.
std::vector<double> reference_logits(const model::MusicLSTM& net, const std::vector<int32_t>& tokens) {
  const model::ModelConfig& c = net.config();
  const int64_t H = c.hidden, V = c.vocab, D = c.dense;
  std::vector<std::vector<double>> h(c.layers, std::vector<double>(H, 0.0)), cell = h;
  std::vector<double> out;
  const std::vector<double> emb =
      c.input == model::InputKind::Embedding ? values(net.embedding().weight) : std::vector<double>();
  const std::vector<double> w1 = values(net.dense1().weight), b1 = values(net.dense1().bias);
  const std::vector<double> w2 = values(net.dense2().weight), b2 = values(net.dense2().bias);
  for (int32_t token : tokens) {
    std::vector<double> x;
    if (emb.empty())
      x = {static_cast<double>(static_cast<float>(kernels::scalar_token_input(token, V)))};  // fed as float32
    else
      x.assign(emb.begin() + token * c.embedding_dim, emb.begin() + (token + 1) * c.embedding_dim);
    for (int k = 0; k < c.layers; ++k) {
      const ops::LstmWeights& w = net.lstm().layers[k];
      const std::vector<double> wi = values(w.w_ih), wh = values(w.w_hh), bi = values(w.b_ih), bh = values(w.b_hh);
      const int64_t I = static_cast<int64_t>(x.size());
      std::vector<double> a(4 * H);
      for (int64_t r = 0; r < 4 * H; ++r) {
        double sum = bi[r] + bh[r];
        for (int64_t i = 0; i < I; ++i) sum += wi[r * I + i] * x[i];
        for (int64_t j = 0; j < H; ++j) sum += wh[r * H + j] * h[k][j];
        a[r] = sum;
      }
      for (int64_t j = 0; j < H; ++j)
        kernels::lstm_cell_forward(a[j], a[H + j], a[2 * H + j], a[3 * H + j], cell[k][j], &cell[k][j], &h[k][j]);
      x = h[k];
    }
    std::vector<double> hidden(D);
    for (int64_t d = 0; d < D; ++d) {
      double sum = b1[d];
      for (int64_t j = 0; j < H; ++j) sum += w1[d * H + j] * x[j];
      hidden[d] = c.dense_relu ? std::max(sum, 0.0) : sum;
    }
    for (int64_t v = 0; v < V; ++v) {
      double sum = b2[v];
      for (int64_t d = 0; d < D; ++d) sum += w2[v * D + d] * hidden[d];
      out.push_back(sum);
    }
  }
  return out;
}

#if defined(LEGATO_EMULATED_GPU)
// The emulated device's SM count for a test, and the suite's own back afterwards.
struct SmsScope {
  unsigned saved = emu::sms();
  explicit SmsScope(unsigned sms) { REQUIRE(emu::set_sms(sms)); }
  ~SmsScope() { emu::set_sms(saved); }
};
#endif

// The smallest power-of-two hidden size (from 64) of a 2-layer scalar-input network that the
// persistent kernel cannot fit on this device (its SM count and opt-in shared memory).
int hidden_too_large_for_device() {
  kernels::GenerateNetwork n;
  n.layers = 2;
  n.input = 1;
  n.dense = 8;
  n.vocab = 30;
  for (n.hidden = 64; n.hidden <= (1 << 16); n.hidden *= 2)
    if (kernels::plan_generation_on_device(n).blocks == 0) return n.hidden;
  FAIL("every hidden size up to 65536 fits this device");
  return 0;
}

// compose_persistent with nothing banned and no EOS; fails the test where it does not apply.
std::vector<int32_t> generate(const model::MusicLSTM& gpu, const std::vector<int32_t>& primer, int64_t length,
                              const model::SamplingOptions& sampling, uint64_t seed,
                              std::vector<float>* logits = nullptr) {
  auto tokens = model::compose_persistent(gpu, primer, length, sampling, {}, -1, seed, {}, logits);
  REQUIRE(tokens.has_value());
  return *tokens;
}

}  // namespace

TEST_CASE("cuda: persistent generator: every step's logits agree with the CPU in float64, fed the tokens it chose") {
  SKIP_WITHOUT_GPU();
  // float32 dot products of at most 2H + E <= 80 terms, over at most 9 steps of recurrence, on
  // logits of size ~1: atol 2e-5 + rtol 2e-4 (passing runs stay below a tenth of it).
  const NetShape shapes[] = {{1, 5, 0, 2, 3, false},
                             {2, 13, 7, 37, 11, true},
                             {3, 33, 0, 300, 17, false},
                             {4, 9, 5, 2000, 6, true},
                             {2, 40, 0, 61, 35, true}};
  model::SamplingOptions sampling;  // top-k and top-p: the sorted path
  sampling.temperature = 1.3;
  sampling.top_k = 5;
  sampling.top_p = 0.9;
  for (const NetShape& s : shapes) {
    CAPTURE(s.layers);
    CAPTURE(s.hidden);
    CAPTURE(s.vocab);
    model::MusicLSTM cpu(config_of(s)), gpu(config_of(s));
    gpu.to(Device::CUDA);
    const std::vector<int32_t> primer = {0, s.vocab - 1, s.vocab / 2};
    std::vector<float> logits;
    const std::vector<int32_t> made = generate(gpu, primer, 6, sampling, 11, &logits);
    REQUIRE(made.size() == 6);
    std::vector<int32_t> fed = primer;
    fed.insert(fed.end(), made.begin(), made.end() - 1);  // the last token made is never fed
    const std::vector<double> ref = reference_logits(cpu, fed);
    const std::vector<double> got(logits.begin(), logits.begin() + static_cast<std::ptrdiff_t>(ref.size()));
    check_close("logits", got, ref, Tolerance{2e-5, 2e-4});
    // Each token made is among the top 5 of its step's logits (ties aside: none at this size).
    for (size_t k = 0; k < made.size(); ++k) {
      const auto row = ref.begin() + static_cast<std::ptrdiff_t>((primer.size() - 1 + k) * s.vocab);
      const double chosen = row[made[k]];
      CHECK(std::count_if(row, row + s.vocab, [&](double z) { return z > chosen; }) < 5);
    }
  }
}

TEST_CASE("cuda: persistent generator: greedy tokens are the CPU generator's for a network with large margins") {
  SKIP_WITHOUT_GPU();
  for (const NetShape& s : {NetShape{2, 21, 0, 50, 19, false}, NetShape{3, 10, 6, 97, 12, true}}) {
    CAPTURE(s.vocab);
    model::MusicLSTM cpu(config_of(s, 5)), gpu(config_of(s, 5));
    // dense2 scaled up: gaps between the two largest logits above 1e-2 (logits of at most ~50,
    // where float32 rounds at ~5e-6: hundreds of times the kernel's error) make argmax robust,
    // so equal tokens are a fair requirement.
    for (model::MusicLSTM* net : {&cpu, &gpu}) {
      Tensor w = net->dense2().weight;
      for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] *= 1000.0f;
    }
    gpu.to(Device::CUDA);
    model::SamplingOptions greedy;
    greedy.greedy = true;
    const std::vector<int32_t> primer = {1, 2};
    model::Generator gen(cpu);
    for (int32_t t : primer) gen.feed(t);
    std::vector<int32_t> expected;
    std::mt19937_64 unused;
    double smallest_gap = INFINITY;
    for (int k = 0; k < 25; ++k) {
      std::vector<float> z(gen.logits().data<float>(), gen.logits().data<float>() + s.vocab);
      expected.push_back(model::sample_token(z.data(), s.vocab, greedy, unused));
      std::sort(z.begin(), z.end());
      smallest_gap = std::min<double>(smallest_gap, z[s.vocab - 1] - z[s.vocab - 2]);
      gen.feed(expected.back());
    }
    CHECK(smallest_gap > 1e-2);  // the premise: no near tie
    CHECK(generate(gpu, primer, 25, greedy, 1) == expected);
  }
}

TEST_CASE("cuda: persistent generator: a seed gives the same piece under any block order; top-k 1 is greedy") {
  SKIP_WITHOUT_GPU();
  const NetShape s{2, 17, 9, 45, 13, true};
  model::MusicLSTM gpu(config_of(s));
  gpu.to(Device::CUDA);
  model::SamplingOptions hot;
  hot.top_k = 0;  // every token (the default too)
  hot.temperature = 1.5;
  const std::vector<int32_t> primer = {4};
  const std::vector<int32_t> first = generate(gpu, primer, 16, hot, 7);
#if defined(LEGATO_EMULATED_GPU)
  // Another order of blocks and threads in the emulator: the same tokens.
  const uint64_t saved = emu::seed();
  emu::set_seed(saved + 17);
  const std::vector<int32_t> again = generate(gpu, primer, 16, hot, 7);
  emu::set_seed(saved);
#else
  const std::vector<int32_t> again = generate(gpu, primer, 16, hot, 7);
#endif
  CHECK(first == again);
  CHECK(generate(gpu, primer, 16, hot, 8) != first);                // another seed, another piece
  CHECK(std::set<int32_t>(first.begin(), first.end()).size() > 5);  // sampled, not stuck on one token
  model::SamplingOptions greedy, top1 = hot, narrow = hot;
  greedy.greedy = true;
  top1.top_k = 1;
  narrow.top_p = 1e-9;  // the nucleus is the first candidate alone
  const std::vector<int32_t> argmax = generate(gpu, primer, 16, greedy, 7);
  CHECK(generate(gpu, primer, 16, top1, 9) == argmax);
  CHECK(generate(gpu, primer, 16, narrow, 9) == argmax);
}

TEST_CASE(
    "cuda: persistent generator: banned tokens are never sampled, EOS ends the piece, the listener sees each token") {
  SKIP_WITHOUT_GPU();
  const NetShape s{1, 11, 0, 23, 7, false};
  model::MusicLSTM gpu(config_of(s));
  gpu.to(Device::CUDA);
  model::SamplingOptions hot;
  hot.top_k = 0;  // every token (the default too)
  hot.temperature = 4.0;
  std::vector<int32_t> banned;
  for (int32_t t = 0; t < 20; ++t) banned.push_back(t);
  const auto only_three = model::compose_persistent(gpu, {0}, 40, hot, banned, -1, 3);
  REQUIRE(only_three.has_value());
  REQUIRE(only_three->size() == 40);
  for (int32_t t : *only_three) CHECK(t >= 20);
  // EOS: the first token that did not come before it ends the piece there, unwritten.
  model::SamplingOptions greedy;
  greedy.greedy = true;
  const auto all = generate(gpu, {5}, 40, greedy, 1);
  size_t cut = 1;
  while (cut < all.size() && std::find(all.begin(), all.begin() + cut, all[cut]) != all.begin() + cut) ++cut;
  if (cut < all.size()) {
    const auto ended = model::compose_persistent(gpu, {5}, 40, greedy, {}, all[cut], 1);
    REQUIRE(ended.has_value());
    CHECK(*ended == std::vector<int32_t>(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(cut)));
  }
  // The listener (composer --play) gets the piece token by token, and may stop it.
  std::vector<size_t> seen;
  const auto stopped = model::compose_persistent(gpu, {5}, 40, greedy, {}, -1, 1, [&](const std::vector<int32_t>& g) {
    seen.push_back(g.size());
    return g.size() < 7;
  });
  REQUIRE(stopped.has_value());
  CHECK(*stopped == std::vector<int32_t>(all.begin(), all.begin() + 7));
  CHECK(seen == std::vector<size_t>{1, 2, 3, 4, 5, 6, 7});
}

#if defined(LEGATO_EMULATED_GPU)
// The emulator's shared-memory race check (tests/cuda_emulator/emulator.h) on small networks:
// every access to shared memory single-stepped, so a thread that writes what another reads with
// no barrier between (the h_{t-1} read ahead of the grid barrier, the partial sums, the sort) fails
// the launch. Small, as each access costs two signals.
TEST_CASE("emulator: the persistent generator has no shared-memory race (the emulator's check)") {
  SKIP_WITHOUT_GPU();
  const bool saved = emu::shared_race_check();
  emu::set_shared_race_check(true);
  model::SamplingOptions sampling;  // top-k: the sorted path
  sampling.top_k = 3;
  for (const NetShape& s : {NetShape{2, 6, 0, 7, 5, false}, NetShape{3, 5, 3, 9, 4, true}}) {
    CAPTURE(s.layers);
    model::MusicLSTM gpu(config_of(s));
    gpu.to(Device::CUDA);
    std::vector<int32_t> made;
    CHECK_NOTHROW(made = generate(gpu, {1, 2}, 3, sampling, 5));
    CHECK(made.size() == 3);
  }
  emu::set_shared_race_check(saved);
}
#endif

#if defined(LEGATO_EMULATED_GPU)
// The emulator's order check of cooperative launches (tests/cuda_emulator/emulator.h): every read
// of another block's h, dense1 output or logits must come after that block's ready flag, and
// every write after the flags that say the other blocks are done reading what it overwrites
// (the double buffers two steps back). Networks of 2 to 5 blocks, folded and unfolded heads, 1 to
// 3 layers, the primer and sampling; checked against the same run without the check.
TEST_CASE("emulator: the persistent generator's blocks meet only through its ready flags, in order") {
  SKIP_WITHOUT_GPU();
  cuda::device_release_cache();  // blocks cached before the check are not checked
  const bool saved = emu::cross_block_check();
  for (const NetShape& s :
       {NetShape{2, 13, 0, 11, 5, false}, NetShape{3, 9, 3, 9, 4, true}, NetShape{1, 17, 0, 23, 6, true}}) {
    CAPTURE(s.layers);
    model::SamplingOptions sampling;
    sampling.top_k = 3;
    emu::set_cross_block_check(false);
    model::MusicLSTM plain(config_of(s));
    plain.to(Device::CUDA);
    const std::vector<int32_t> expected = generate(plain, {1, 2}, 4, sampling, 5);
    cuda::device_release_cache();  // the workspace of the run above, so that the next one is checked
    emu::set_cross_block_check(true);
    const uint64_t before = emu::cross_block_accesses();
    model::MusicLSTM gpu(config_of(s));
    gpu.to(Device::CUDA);
    std::vector<int32_t> made;
    CHECK_NOTHROW(made = generate(gpu, {1, 2}, 4, sampling, 5));
    CHECK(made == expected);
    CHECK(emu::cross_block_accesses() - before > 1000);  // the kernel's accesses were checked
    cuda::device_release_cache();
  }
  emu::set_cross_block_check(saved);
}
#endif

TEST_CASE("cuda: persistent generator: the seed network on an H100's grid (128 blocks of 256) agrees with float64") {
  SKIP_WITHOUT_GPU();
#if defined(LEGATO_EMULATED_GPU)
  const SmsScope h100(132);  // the plan an H100 gets: 128 blocks of 256 threads run together as fibers
#endif
  // The seed network: 3 layers of 512, scalar input, dense 256, a vocabulary of 360.
  const NetShape s{3, 512, 0, 360, 256, false};
  model::MusicLSTM cpu(config_of(s)), gpu(config_of(s));
  // dense2 scaled up 1000 times: logits of ~1 (~2e-3 as initialised, below the tolerance's atol).
  for (model::MusicLSTM* net : {&cpu, &gpu}) {
    Tensor w = net->dense2().weight;
    for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] *= 1000.0f;
  }
  gpu.to(Device::CUDA);
#if defined(LEGATO_EMULATED_GPU)
  // The emulated H100's plan (on a real GPU its own; "which networks fit" checks the H100's).
  CHECK(model::device_generation(gpu).find("persistent kernel: 128 blocks x 256 threads") == 0);
#endif
  model::SamplingOptions sampling;
  sampling.temperature = 1.3;
  sampling.top_k = 5;
  const std::vector<int32_t> primer = {180};
  std::vector<float> logits;
  const std::vector<int32_t> made = generate(gpu, primer, 3, sampling, 11, &logits);
  REQUIRE(made.size() == 3);
  std::vector<int32_t> fed = primer;
  fed.insert(fed.end(), made.begin(), made.end() - 1);  // 3 steps: the primer, then the first 2 tokens made
  const std::vector<double> ref = reference_logits(cpu, fed);
  const std::vector<double> got(logits.begin(), logits.begin() + static_cast<std::ptrdiff_t>(ref.size()));
  // float32 dot products of 2H + 1 = 1025 terms over 3 steps of recurrence, logits of ~1: the
  // tolerance of the small networks above, atol 2e-5 + rtol 2e-4 (the emulator's run: 0.022 of it).
  check_close("logits", got, ref, Tolerance{2e-5, 2e-4});
}

TEST_CASE("cuda: persistent generator: its sampling alone (bench's graph baseline) takes the first largest logit") {
  SKIP_WITHOUT_GPU();
  // logits [23] with two equal largest (index 7 first, then 15): greedy and top-k 1 take 7.
  std::vector<float> z(23);
  for (size_t i = 0; i < z.size(); ++i) z[i] = std::sin(static_cast<float>(i));
  z[7] = z[15] = 3.0f;
  kernels::DeviceArray<float> logits(z), x(std::vector<float>{-1.0f});
  kernels::DeviceArray<int> counter(std::vector<int>{0});
  kernels::DeviceArray<int32_t> tokens(std::vector<int32_t>{-1, -1});
  kernels::GenerateSampling greedy, top1;
  greedy.greedy = true;
  top1.top_k = 1;
  top1.temperature = 2.0;
  kernels::sample_token_launch(logits.get(), 23, greedy, counter.get(), tokens.get(), x.get(), nullptr);
  kernels::sample_token_launch(logits.get(), 23, top1, counter.get(), tokens.get(), x.get(), nullptr);
  CHECK(counter.download() == std::vector<int>{2});  // each call numbers its token and raises the count
  CHECK(tokens.download() == std::vector<int32_t>{7, 7});
  CHECK(x.download()[0] == static_cast<float>(kernels::scalar_token_input(7, 23)));  // the next step's input
  CHECK_THROWS_WITH_AS(
      kernels::sample_token_launch(logits.get(), 1, greedy, counter.get(), tokens.get(), x.get(), nullptr),
      "sample_token: a vocabulary of 1 (2 to 2048)", std::invalid_argument);
}

TEST_CASE("cuda: persistent generator: which networks fit on chip, and the fallback for those that do not") {
  // The seed network (3 x 512, scalar input, dense 256, a vocabulary of ~360) on an H100's or
  // H200's 132 SMs with 227 KiB each: 4 units of every layer per block, 128 blocks.
  kernels::GenerateNetwork seed;
  seed.layers = 3;
  seed.input = 1;
  seed.hidden = 512;
  seed.dense = 256;
  seed.vocab = 360;
  const kernels::GeneratePlan plan = kernels::plan_generation(seed, 132, 227 * 1024);
  CHECK(plan.blocks == 128);
  CHECK(plan.units == 4);
  CHECK(plan.threads == 256);
  CHECK(plan.shared_bytes <= 227 * 1024);
  CHECK(plan.shared_bytes > 160 * 1024);  // the weights: 16 rows of 513 + 2 x 1024 floats
  kernels::GenerateNetwork wide = seed;
  wide.hidden = 1024;
  const kernels::GeneratePlan no = kernels::plan_generation(wide, 132, 227 * 1024);
  CHECK(no.blocks == 0);
  CHECK(no.why.find("KiB of shared memory per block") != std::string::npos);
  kernels::GenerateNetwork big_vocab = seed;
  big_vocab.vocab = 5000;
  CHECK(kernels::plan_generation(big_vocab, 132, 227 * 1024).why.find("vocabulary of 5000") != std::string::npos);
  // Every block must be resident at once (a cooperative launch): the driver's occupancy decides,
  // and a plan it cannot hold is stepped with this line.
  CHECK(kernels::residency_problem(plan, 1, 132).empty());
  CHECK(kernels::residency_problem(plan, 1, 128).empty());
  CHECK(kernels::residency_problem(plan, 1, 100) == "128 blocks of 256 threads and " +
                                                        std::to_string((plan.shared_bytes + 1023) / 1024) +
                                                        " KiB cannot all run at once (1 per SM on 100 SMs)");
  CHECK(kernels::residency_problem(plan, 0, 132).find("(0 per SM on 132 SMs)") != std::string::npos);

  SKIP_WITHOUT_GPU();
  // Too large for this device (its own SM count and shared memory: 16 SMs in the emulator by
  // default, 132 on an H100): compose steps it instead.
  model::MusicLSTM large(config_of(NetShape{2, hidden_too_large_for_device(), 0, 30, 8, false}));
  large.to(Device::CUDA);
  CHECK(model::device_generation(large).find("stepped token by token") == 0);
  CHECK(!model::compose_persistent(large, {1}, 3, model::SamplingOptions{}, {}, -1, 1).has_value());
  model::MusicLSTM small(config_of(NetShape{2, 24, 8, 30, 8, false}));
  CHECK(model::device_generation(small).find("not on the GPU") != std::string::npos);
  small.to(Device::CUDA);
  CHECK(model::device_generation(small).find("persistent kernel: ") == 0);
}

#endif  // LEGATO_HAVE_CUDA
