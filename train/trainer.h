#pragma once
// The training run behind build/bin/trainer: corpus, model, optimiser, the epoch loop with
// progress, validation, composed pieces measured against the validation pieces, checkpoints
// (last, best), metrics.csv, loss.svg, Ctrl-C and --resume.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/precision.h"
#include "engine/tensor.h"
#include "model/presets.h"
#include "train/metrics.h"

namespace legato::model {

// Bad input from the user (no MIDI, corpus too short, bad values): the programs exit with 2.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Where a run stands, for a caller's own progress display (the Python module's callback).
struct TrainProgress {
  int epoch = 0;  // the epoch in progress, from 1
  int64_t batch = 0, batches = 0, step = 0;
  double loss = 0;                        // the epoch's mean training loss so far
  const EpochMetrics* metrics = nullptr;  // at an epoch's end (or an --eval-every point): its row
};

struct TrainOptions {
  std::string preset = "default";  // what `recipe` was made from (run.json keeps it)
  Recipe recipe;
  std::vector<std::filesystem::path> data;  // empty: the default corpus
  std::filesystem::path out = "out/train";
  bool resume = false;
  // A fresh run into a folder that holds a run (its checkpoints or state) is refused unless
  // `overwrite`, which then removes that run's files (the token cache stays).
  bool overwrite = false;
  // The tokenized corpus is cached in this folder (empty: in `out`) and mapped by later runs.
  std::filesystem::path cache_dir;
  bool no_cache = false;   // read every file, write no cache
  double max_minutes = 0;  // 0: no limit; otherwise stop (with checkpoints) after this long
  // Writes last and its state this often inside an epoch too (0: only at epoch ends), so that
  // kill -9 or a power cut loses at most this much work; --resume then ends bit-identical.
  double checkpoint_every_minutes = 10;
  uint64_t seed = 1;
  bool terminal = false;  // a live progress bar instead of periodic lines
  bool quiet = false;     // no progress at all (tests)
  // Behave as if SIGINT arrived during batch N of the run (0: never): scripted runs and the
  // resume tests use it to interrupt at an exact point.
  int64_t stop_after_batches = 0;
  Device device = Device::CPU;  // where the model trains (checkpoints are the same either way)
  // Of the model's matrix products (engine/precision.h); refused with InputError where `device`
  // cannot run it.
  Precision precision = Precision::FP32;
  // Music metrics: at each epoch's end (and every `eval_every` optimiser steps; 0: only then)
  // compose `eval_pieces` pieces of `eval_length` tokens with the default sampling and compare
  // them with the validation pieces (MGEval's mean overlapped area; eval/). 0 pieces: never.
  int eval_pieces = 8;
  int64_t eval_every = 0;
  int64_t eval_length = 500;
  // Called on the training thread after every batch and with every metrics row (may be empty).
  std::function<void(const TrainProgress&)> on_progress;
};

// Before any file is touched: --out (and --cache) can be written, a fresh run does not replace
// another unasked (with `overwrite` that run's files are removed), a resumed one has what it
// resumes from. Returns false when there is nothing to do: the run to resume has finished its
// epochs, and a line on `out` says how to go on. Throws InputError. train() calls it first.
bool check_outputs(const TrainOptions& o, std::ostream& out);

// Returns the exit code: 0 when done (or stopped by --max-minutes), 130 when a SIGINT or SIGTERM
// stopped it after the current batch (checkpoints written). Throws InputError for bad input.
int train(const TrainOptions& options, std::ostream& out);

// Files in the output folder.
inline std::filesystem::path last_checkpoint(const std::filesystem::path& dir) { return dir / "last.safetensors"; }
inline std::filesystem::path best_checkpoint(const std::filesystem::path& dir) { return dir / "best.safetensors"; }
// The state holds the weights too (with the optimiser's slots and the position), so that it
// alone is what --resume needs: one file, renamed into place at once, can never disagree with
// itself, where last.safetensors and a separate state file could when killed between them.
inline std::filesystem::path train_state_file(const std::filesystem::path& dir) {
  return dir / "last.state.safetensors";
}

// The run's settings as trainer's flags name them ("data", "preset", "epochs", "lr", ...; data as
// absolute paths, numbers as their shortest exact text): what OUT/run.json keeps, so that
// --resume goes on with the same corpus, preset and options without being told them again.
using RunSettings = std::map<std::string, std::string>;
RunSettings run_settings(const TrainOptions& o);
// The settings into `o` (its recipe, data, seed, music metrics); throws InputError for bad ones.
void apply_run_settings(const RunSettings& settings, TrainOptions& o);
inline std::filesystem::path run_settings_file(const std::filesystem::path& dir) { return dir / "run.json"; }
// OUT/run.json; throws InputError when it is missing or damaged.
RunSettings load_run_settings(const std::filesystem::path& dir);
// The settings a resumed run may change: how long it trains and where, not what it learns.
inline const std::set<std::string>& resumable_changes() {
  static const std::set<std::string> names = {"epochs"};
  return names;
}
// "" when the settings given on a --resume command line (`given`: the names of the flags given,
// `current`: the settings those flags make) agree with the run's (`stored`); else the line that
// names the first setting that differs and both values.
std::string resume_conflict(const RunSettings& stored, const RunSettings& current, const std::set<std::string>& given,
                            const std::filesystem::path& out);

// Asks a running train() to stop after its current batch (what SIGINT and SIGTERM do).
void request_stop();

}  // namespace legato::model
