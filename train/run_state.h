#pragma once
// Where a training run stands, and reading and writing it: the state file (last.state.safetensors:
// the weights, the optimiser's slots and the position) and the run's settings (run.json, declared
// in train/trainer.h), so that --resume goes on exactly where the run stopped.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "engine/optim.h"
#include "model/checkpoint.h"
#include "model/music_lstm.h"
#include "train/metrics.h"

namespace legato::model {

// Where a run stands: everything --resume needs beyond the weights and the optimiser's slots.
struct RunState {
  int epoch = 0;      // the epoch in progress
  int64_t batch = 0;  // batches of it already done
  int64_t step = 0;   // optimiser steps in all
  uint64_t dropout_offset = 0;
  double loss_sum = 0;  // this epoch's training loss so far
  int64_t loss_count = 0;
  double best = INFINITY;  // best validation (or training) loss
  double seconds = 0;      // training time before this process
  std::vector<EpochMetrics> metrics;
};

// Writes the state file at `path` atomically: a checkpoint of `net` with `meta`, the optimiser's slots and `s`.
void save_state(const std::filesystem::path& path, const RunState& s, const optim::Optimizer& opt, const MusicLSTM& net,
                const CheckpointMeta& meta);
// Reads the position from the state file into the result and its slots into `opt` (whose
// parameters must be those the file was written with); throws std::runtime_error when damaged.
RunState load_state(const std::filesystem::path& path, optim::Optimizer& opt);

}  // namespace legato::model
