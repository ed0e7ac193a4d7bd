#pragma once
// An untrained network of the event scheme, for the live tests: its answers are random but
// reproducible (its weights come from a fixed seed), which is what timing and plumbing need.
#include <filesystem>
#include <string>
#include <vector>

#include "model/checkpoint.h"

namespace legato::testing {

inline model::CheckpointMeta live_meta() {
  model::CheckpointMeta meta;
  meta.scheme = "event";
  meta.seq_len = 32;
  meta.vocab = {"UNK", "BOS", "EOS", "I0", "IDRUMS", "P0", "DRUMS"};
  // Appended, not "N" + std::to_string(p): GCC 12 warns falsely about that.
  const auto add = [&](char kind, int value) {
    meta.vocab.push_back(std::string(1, kind).append(std::to_string(value)));
  };
  for (int p = 36; p <= 84; ++p) add('N', p);
  for (int d = 1; d <= 24; ++d) add('D', d);
  for (int t = 1; t <= 12; ++t) add('T', t);
  meta.config.vocab = int64_t(meta.vocab.size());
  meta.config.input = model::InputKind::Embedding;
  meta.config.embedding_dim = 16;
  meta.config.hidden = 32;
  meta.config.layers = 2;
  meta.config.dense = 32;
  meta.config.seed = 7;
  return meta;
}

inline std::filesystem::path write_live_checkpoint(const std::filesystem::path& dir) {
  const model::CheckpointMeta meta = live_meta();
  const model::MusicLSTM net(meta.config);
  const auto path = dir / "live.safetensors";
  model::save_checkpoint(path, net, meta);
  return path;
}

}  // namespace legato::testing
