// Checkpoints exchanged with PyTorch: a MusicLSTM made and saved by PyTorch
// (tools/torch_interop.py, the module README gives) loads here and computes the same logits.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "engine/autograd.h"
#include "model/checkpoint.h"
#include "model/safetensors.h"

using namespace legato;

TEST_CASE("interop: a checkpoint saved from PyTorch loads and gives PyTorch's logits") {
  const std::string path = LEGATO_TEST_DATA "/torch_music_lstm.safetensors";
  const model::LoadedCheckpoint ck = model::load_checkpoint(path);
  const auto meta = model::load_safetensors(path).metadata;
  const auto tokens = nlohmann::json::parse(meta.at("test.tokens")).get<std::vector<std::vector<int32_t>>>();
  const auto expect = nlohmann::json::parse(meta.at("test.logits")).get<std::vector<std::vector<double>>>();
  std::vector<int32_t> flat;
  for (const auto& row : tokens) flat.insert(flat.end(), row.begin(), row.end());
  const int64_t T = static_cast<int64_t>(tokens.size()), B = static_cast<int64_t>(tokens[0].size());
  NoGradGuard guard;
  model::DropoutStream unused;
  const Tensor logits = ck.net->forward(Tensor::from_indices({T, B}, flat), true, false, unused);  // [B, V]
  REQUIRE(logits.shape() == Shape{B, static_cast<int64_t>(expect[0].size())});
  // float32 both sides: atol 1e-5 + rtol 1e-5.
  for (int64_t b = 0; b < B; ++b)
    for (size_t v = 0; v < expect[b].size(); ++v)
      CHECK(std::abs(logits.at(b * logits.dim(1) + v) - expect[b][v]) <= 1e-5 + 1e-5 * std::abs(expect[b][v]));
}
