#pragma once
// A training run small enough for a test: a preset's recipe shrunk to a few hundred parameters
// per layer, 2 epochs over the small corpus with a third of it held out, no progress output.
#include <filesystem>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "train/trainer.h"

namespace legato::testing {

inline model::TrainOptions small_training(const std::filesystem::path& data, const std::filesystem::path& out,
                                          const std::string& preset = "tiny", Device device = Device::CPU) {
  model::TrainOptions o;
  o.recipe = model::preset(preset);
  o.recipe.model.embedding_dim = 4;
  o.recipe.model.hidden = 8;
  o.recipe.model.layers = 2;
  o.recipe.model.dense = 6;
  o.recipe.seq_len = 12;
  o.recipe.batch = 4;
  o.recipe.epochs = 2;
  o.recipe.val_split = 0.34;
  o.data = {data};
  o.out = out;
  o.quiet = true;
  o.device = device;
  return o;
}

// Every parameter of a checkpoint, in order: what "bit for bit the same run" compares.
inline std::vector<std::vector<double>> weights_of(const std::filesystem::path& checkpoint) {
  std::vector<std::vector<double>> out;
  for (const auto& p : model::load_checkpoint(checkpoint).net->parameters()) out.push_back(p.tensor.to_vector());
  return out;
}

}  // namespace legato::testing
