// The model layer: safetensors, checkpoints, batches, generation and sampling.
#include <doctest/doctest.h>

#include <unistd.h>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "corpus/batches.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "model/checkpoint.h"
#include "model/generator.h"
#include "model/safetensors.h"
#include "temp_dir.h"

using namespace legato;
using legato::testing::temp_dir;

namespace {

model::CheckpointMeta small_meta(model::InputKind input) {
  model::CheckpointMeta meta;
  meta.config.vocab = 6;
  meta.config.input = input;
  meta.config.embedding_dim = 4;
  meta.config.hidden = 8;
  meta.config.layers = 2;
  meta.config.dense = 5;
  meta.config.dense_relu = true;
  meta.vocab = {"A", "B", "C", "D", "E", "F"};
  meta.primers = {{0, 1, 2}, {3, 4, 5}};
  return meta;
}

std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("safetensors: round trip, and the layout of the format") {
  const auto dir = temp_dir("st");
  model::SafetensorsFile file;
  file.tensors = {{"a", Tensor::from_values({2, 3}, {1, 2, 3, 4, 5, 6})},
                  {"b", Tensor::from_values({4}, {-1, 0.5, 2, 8}, DType::F64)},
                  {"c", Tensor::from_indices({3}, {7, 8, 9})}};
  file.metadata = {{"k", "v"}};
  model::save_safetensors(dir / "x.safetensors", file);
  const std::string bytes = read_bytes(dir / "x.safetensors");
  uint64_t header = 0;
  std::memcpy(&header, bytes.data(), 8);
  CHECK(header % 8 == 0);
  CHECK(bytes.size() == 8 + header + 6 * 4 + 4 * 8 + 3 * 4);
  CHECK(bytes.substr(8, header).find("\"dtype\":\"F32\"") != std::string::npos);
  const model::SafetensorsFile back = model::load_safetensors(dir / "x.safetensors");
  REQUIRE(back.tensors.size() == 3);
  CHECK(back.find("a")->to_vector() == file.tensors[0].second.to_vector());
  CHECK(back.find("b")->dtype() == DType::F64);
  CHECK(back.find("c")->to_vector() == std::vector<double>{7, 8, 9});
  CHECK(back.metadata.at("k") == "v");
  // No temporary files are left behind.
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++files;
  CHECK(files == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("safetensors: truncated or corrupt files give clear errors") {
  const auto dir = temp_dir("bad");
  model::SafetensorsFile file;
  file.tensors = {{"w", Tensor::from_values({8}, {1, 2, 3, 4, 5, 6, 7, 8})}};
  model::save_safetensors(dir / "ok.safetensors", file);
  const std::string bytes = read_bytes(dir / "ok.safetensors");
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir / name, std::ios::binary) << content;
    return dir / name;
  };
  CHECK_THROWS_WITH(model::load_safetensors(write("short", bytes.substr(0, 5))), doctest::Contains("truncated"));
  CHECK_THROWS_WITH(model::load_safetensors(write("cut", bytes.substr(0, bytes.size() - 4))),
                    doctest::Contains("offsets outside"));
  CHECK_THROWS_WITH(model::load_safetensors(write("head", bytes.substr(0, 20))), doctest::Contains("truncated"));
  std::string garbage = bytes;
  garbage[9] = '#';
  CHECK_THROWS_WITH(model::load_safetensors(write("json", garbage)), doctest::Contains("not valid JSON"));
  CHECK_THROWS_WITH(model::load_safetensors(dir / "missing"), doctest::Contains("cannot be opened"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("checkpoint: save and load give the same network") {
  for (auto input : {model::InputKind::Scalar, model::InputKind::Embedding}) {
    const auto dir = temp_dir("ck");
    const model::CheckpointMeta meta = small_meta(input);
    const model::MusicLSTM net(meta.config);
    model::save_checkpoint(dir / "m.safetensors", net, meta);
    const model::LoadedCheckpoint back = model::load_checkpoint(dir / "m.safetensors");
    CHECK(back.meta.vocab == meta.vocab);
    CHECK(back.meta.primers == meta.primers);
    CHECK(model::config_to_json(back.meta) == model::config_to_json(meta));
    const auto a = net.parameters(), b = back.net->parameters();
    REQUIRE(a.size() == b.size());
    for (size_t k = 0; k < a.size(); ++k) {
      CHECK(a[k].name == b[k].name);
      CHECK(a[k].tensor.to_vector() == b[k].tensor.to_vector());
    }
    // A tensor of the wrong shape is named in the error.
    model::SafetensorsFile file = model::load_safetensors(dir / "m.safetensors");
    for (auto& [name, t] : file.tensors)
      if (name == "dense1.bias") t = Tensor::zeros({7});
    model::save_safetensors(dir / "bad.safetensors", file);
    CHECK_THROWS_WITH(model::load_checkpoint(dir / "bad.safetensors"),
                      doctest::Contains("dense1.bias is [7] but the config needs [5]"));
    std::filesystem::remove_all(dir);
  }
}

TEST_CASE("batches: windows for 'last', chunks for 'all'") {
  const model::Pieces pieces = {{0, 1, 2, 3, 4, 5, 6}, {7, 8}};
  const auto last = model::make_examples(pieces, 3, false);
  CHECK(last.size() == 4);  // starts 0..3 of the first piece; the second is too short
  const auto all = model::make_examples(pieces, 3, true);
  CHECK(all.size() == 2);  // chunks at 0 and 3
  Tensor tokens, targets;
  model::fill_batch(pieces, all.data(), 2, 3, true, tokens, targets);
  CHECK(tokens.shape() == Shape{3, 2});
  CHECK(tokens.to_vector() == std::vector<double>{0, 3, 1, 4, 2, 5});  // [t, b]
  CHECK(targets.to_vector() == std::vector<double>{1, 4, 2, 5, 3, 6});
  model::fill_batch(pieces, last.data() + 1, 2, 3, false, tokens, targets);
  CHECK(tokens.to_vector() == std::vector<double>{1, 2, 2, 3, 3, 4});
  CHECK(targets.to_vector() == std::vector<double>{4, 5});
}

TEST_CASE("generator: one token at a time gives the sequence model's logits") {
  for (auto input : {model::InputKind::Scalar, model::InputKind::Embedding}) {
    const model::MusicLSTM net(small_meta(input).config);
    const std::vector<int32_t> seq = {2, 5, 0, 3, 3, 1};
    model::Generator gen(net);
    model::DropoutStream unused;
    for (size_t t = 0; t < seq.size(); ++t) {
      const Tensor step_logits = gen.feed(seq[t]);
      NoGradGuard guard;
      const Tensor window = Tensor::from_indices({static_cast<int64_t>(t + 1), 1},
                                                 std::vector<int32_t>(seq.begin(), seq.begin() + t + 1));
      const Tensor full = net.forward(window, true, false, unused);  // [1, V]
      for (int64_t v = 0; v < 6; ++v) CHECK(step_logits.at(v) == doctest::Approx(full.at(v)).epsilon(1e-5));
    }
  }
}

TEST_CASE("model: one token's input is the row embed() gives, for generation") {
  for (auto input : {model::InputKind::Scalar, model::InputKind::Embedding}) {
    CAPTURE(input == model::InputKind::Embedding);
    const model::MusicLSTM net(small_meta(input).config);
    NoGradGuard guard;
    for (int32_t token = 0; token < 6; ++token) {
      const Tensor x = net.embed_token(token);
      CHECK(x.shape() == Shape{1, input == model::InputKind::Embedding ? 4 : 1});
      CHECK(x.to_vector() == net.embed(Tensor::from_indices({1, 1}, {token})).to_vector());  // bit for bit
    }
    CHECK_THROWS_AS(net.embed_token(6), std::out_of_range);
    CHECK_THROWS_AS(net.embed_token(-1), std::out_of_range);
  }
}

TEST_CASE("sampling: greedy, top-k, top-p and temperature") {
  const float logits[5] = {0.0f, 3.0f, 1.0f, 2.9f, -1.0f};
  std::mt19937_64 rng(1);
  model::SamplingOptions greedy;
  greedy.greedy = true;
  CHECK(model::sample_token(logits, 5, greedy, rng) == 1);
  model::SamplingOptions top2;
  top2.top_k = 2;
  std::set<int32_t> seen;
  for (int k = 0; k < 200; ++k) seen.insert(model::sample_token(logits, 5, top2, rng));
  CHECK(seen == std::set<int32_t>{1, 3});
  model::SamplingOptions nucleus;
  nucleus.top_p = 0.01;  // only the likeliest survives
  for (int k = 0; k < 50; ++k) CHECK(model::sample_token(logits, 5, nucleus, rng) == 1);
  model::SamplingOptions hot;
  hot.temperature = 100;  // nearly uniform: every token appears
  seen.clear();
  for (int k = 0; k < 500; ++k) seen.insert(model::sample_token(logits, 5, hot, rng));
  CHECK(seen.size() == 5);
  model::SamplingOptions bad;
  bad.temperature = 0;
  CHECK_THROWS_AS(model::sample_token(logits, 5, bad, rng), std::invalid_argument);
}
