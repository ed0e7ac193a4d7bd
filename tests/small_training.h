#pragma once
// A training run small enough for a test: a preset's recipe shrunk to a few hundred parameters
// per layer, 2 epochs over the small corpus with a third of it held out, no progress output.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/checkpoint.h"
#include "model/safetensors.h"
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

// The batch of its epoch that the state file in `out` says a run has done (0 at an epoch's end),
// or -1 while there is no state file (for the tests that kill a run mid-epoch).
inline int64_t saved_batch(const std::filesystem::path& out) {
  try {
    const auto file = model::load_safetensors(model::train_state_file(out));
    return nlohmann::json::parse(file.metadata.at("legato.train_state")).at("batch").get<int64_t>();
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace legato::testing
