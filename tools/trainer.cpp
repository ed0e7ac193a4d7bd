// trainer: trains a MusicLSTM on a folder of MIDI files (the default corpus without --data).
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <iostream>
#include <set>

#include "cli_errors.h"
#include "device.h"
#include "tools/openmp_waits.h"
#include "train/trainer.h"

namespace {

// For --help: "(default: the preset's: seed 200, default 100, tiny 20)".
std::string by_preset(const std::function<std::string(const legato::model::Recipe&)>& value) {
  std::string text;
  for (const char* name : {"seed", "default", "tiny"})
    text += (text.empty() ? "" : ", ") + std::string(name) + " " + value(legato::model::preset(name));
  return "(default: the preset's: " + text + ")";
}

}  // namespace

int main(int argc, char** argv) {
  legato::tools::shorten_openmp_waits(argv);  // before any OpenMP work (tools/openmp_waits.h)
  using namespace legato;
  CLI::App app{"Train an LSTM on MIDI files; checkpoints, metrics.csv and loss.svg go to --out.", "trainer"};
  std::vector<std::string> data;
  std::string preset_name = "default", device = "cpu", scheme, objective;
  model::TrainOptions options;
  std::string out = "out/train";
  int epochs = 0, layers = 0, transpose = -1;
  int64_t batch = 0, seq_len = 0, hidden = 0, embedding = 0;
  double lr = 0, val_split = -1, clip = -1, dropout = -1;
  app.add_option("--data", data, "MIDI files or folders (default: Debian's openttd-openmsx music)");
  app.add_option("--preset", preset_name,
                 "seed (the Keras seed exactly), default (our recipe) or tiny; the settings below default to its "
                 "values")
      ->check(CLI::IsMember({"seed", "default", "tiny"}))
      ->capture_default_str();
  app.add_option("--scheme", scheme,
                 "Tokenizer: seed or event " + by_preset([](const model::Recipe& r) { return r.scheme; }))
      ->check(CLI::IsMember({"seed", "event"}));
  app.add_option("--objective", objective,
                 "last (the seed's windows) or all (a target at every step) " +
                     by_preset([](const model::Recipe& r) { return r.objective; }))
      ->check(CLI::IsMember({"last", "all"}));
  app.add_option("--device", device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  std::string precision = "fp32";
  app.add_option("--precision", precision,
                 "Matrix products in fp32, or bf16 with fp32 accumulation (CPUs with AVX512-BF16 or AMX)")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
  bool tf32 = false;
  app.add_flag("--tf32", tf32, "With --device cuda: TF32 tensor-core products (faster, about 3 fewer digits)");
  app.add_option("--epochs", epochs,
                 "Epochs " + by_preset([](const model::Recipe& r) { return std::to_string(r.epochs); }))
      ->check(tools::whole_in(1, 1000000));
  app.add_option("--batch", batch,
                 "Batch size " + by_preset([](const model::Recipe& r) { return std::to_string(r.batch); }))
      ->check(tools::whole_in(1, 65536));
  app.add_option("--seq-len", seq_len, "Window / chunk length in tokens " + by_preset([](const model::Recipe& r) {
                                         return std::to_string(r.seq_len);
                                       }))
      ->check(tools::whole_in(1, 100000));
  app.add_option("--hidden", hidden, "LSTM units per layer " + by_preset([](const model::Recipe& r) {
                                       return std::to_string(r.model.hidden);
                                     }))
      ->check(tools::whole_in(1, 16384));
  app.add_option("--layers", layers,
                 "LSTM layers " + by_preset([](const model::Recipe& r) { return std::to_string(r.model.layers); }))
      ->check(tools::whole_in(1, 16));
  app.add_option("--embedding", embedding, "Embedding size (embedding input) " + by_preset([](const model::Recipe& r) {
                                             return r.model.input == model::InputKind::Embedding
                                                        ? std::to_string(r.model.embedding_dim)
                                                        : std::string("none: scalar input");
                                           }))
      ->check(tools::whole_in(1, 16384));
  app.add_option("--dropout", dropout,
                 "Dropout rate between layers and before the last dense layer " +
                     by_preset([](const model::Recipe& r) { return tools::number_text(r.model.dropout); }))
      ->check(tools::number_in(0.0, 0.95));
  app.add_option("--lr", lr,
                 "Learning rate " + by_preset([](const model::Recipe& r) { return tools::number_text(r.lr); }))
      ->check(tools::positive());
  app.add_option("--clip", clip, "Global gradient-norm limit (0: none) " + by_preset([](const model::Recipe& r) {
                                   return tools::number_text(r.clip);
                                 }))
      ->check(tools::non_negative());
  app.add_option("--val-split", val_split,
                 "Fraction of pieces held out for validation (their names: validation.txt in --out) " +
                     by_preset([](const model::Recipe& r) { return tools::number_text(r.val_split); }))
      ->check(tools::number_in(0.0, 0.9));
  app.add_option("--transpose", transpose,
                 "Augment with transpositions of -N..+N semitones " +
                     by_preset([](const model::Recipe& r) { return std::to_string(r.transpose); }))
      ->check(tools::whole_in(0, 24));
  std::string best_by;
  app.add_option("--best-by", best_by,
                 "What best.safetensors keeps: the lowest validation loss, or the music closest to the validation "
                 "pieces (mean OA of the last 3 measurements) " +
                     by_preset([](const model::Recipe& r) { return r.best_by; }))
      ->check(CLI::IsMember({"loss", "music"}));
  bool key_c = false, key_as_written = false;
  auto* normalise = app.add_flag("--normalise-key", key_c,
                                 "Train every piece in C major's key signature (A minor's), --transpose around it; "
                                 "composer moves the music into the corpus's keys " +
                                     by_preset([](const model::Recipe& r) { return r.normalise_key ? "on" : "off"; }));
  app.add_flag("--no-normalise-key", key_as_written, "Train every piece in its own key")->excludes(normalise);
  app.add_option("--seed", options.seed, "Random seed (initialisation, split, order, dropout)")->capture_default_str();
  app.add_option("--out", out, "Output folder")->capture_default_str();
  auto* resume_flag = app.add_flag("--resume", options.resume,
                                   "Continue the run in --out from its last checkpoint, with its corpus, preset and "
                                   "options (run.json); only --epochs may change");
  app.add_flag("--overwrite", options.overwrite, "Replace the run in --out (a fresh run into one is refused without)")
      ->excludes(resume_flag);
  std::string cache;
  app.add_option("--cache", cache, "Folder of the tokenized-corpus cache (default: --out)");
  app.add_flag("--no-cache", options.no_cache, "Read every MIDI file; neither use nor write the cache");
  app.add_option("--max-minutes", options.max_minutes,
                 "Stop (with checkpoints) after this many minutes (default: no limit)")
      ->check(tools::positive("; leave it out for no limit"));
  app.add_option("--eval-pieces", options.eval_pieces,
                 "Pieces of 500 tokens composed at each epoch's end and compared with the validation pieces "
                 "(mean OA in the epoch line, metrics.csv and loss.svg; 0: none)")
      ->check(tools::whole_in(0, 1000))
      ->capture_default_str();
  app.add_option("--eval-every", options.eval_every, "Also measure the composed music every N batches (0: off)")
      ->check(tools::whole_in(0, 1e15))
      ->capture_default_str();
  app.add_option("--checkpoint-every", options.checkpoint_every_minutes,
                 "Also write last and its state every this many minutes inside an epoch (0: off), so that a "
                 "kill loses at most that much")
      ->check(tools::number_in(0.0, 1e6))
      ->capture_default_str();
  if (const int code = tools::parse_command_line(app, argc, argv); code >= 0) return code;

  if (const std::string problem = tools::device_problem(device); !problem.empty()) {
    std::cerr << "trainer: " << problem << "\n";
    return tools::kUsageError;
  }
  options.device = tools::parse_device(device);
  if (const std::string problem = tools::apply_precision(precision, options.device); !problem.empty()) {
    std::cerr << "trainer: " << problem << "\n";
    return tools::kUsageError;
  }
  set_cuda_tf32(tf32);  // before the first line, which says whether TF32 is on
  try {
    model::Recipe& r = options.recipe;
    r = model::preset(preset_name);
    if (!scheme.empty()) r.scheme = scheme;
    if (!objective.empty()) r.objective = objective;
    if (epochs) r.epochs = epochs;
    if (batch) r.batch = batch;
    if (seq_len) r.seq_len = seq_len;
    if (hidden) r.model.hidden = hidden;
    if (layers) r.model.layers = layers;
    if (embedding) {
      r.model.input = model::InputKind::Embedding;
      r.model.embedding_dim = embedding;
    }
    if (dropout >= 0) r.model.dropout = dropout;
    if (lr > 0) r.lr = lr;
    if (clip >= 0) r.clip = clip;
    if (val_split >= 0) r.val_split = val_split;
    if (transpose >= 0) r.transpose = transpose;
    if (key_c || key_as_written) r.normalise_key = key_c;
    if (!best_by.empty()) r.best_by = best_by;
    for (const auto& d : data) options.data.push_back(d);
    options.preset = preset_name;
    if (options.resume && std::filesystem::exists(model::run_settings_file(out))) {
      // The run's own settings; a flag given now must agree with them (but --epochs, to train on).
      const model::RunSettings stored = model::load_run_settings(out);
      std::set<std::string> given;
      for (const auto& [name, value] : stored)
        if (const CLI::Option* opt = app.get_option_no_throw("--" + name); opt && opt->count() > 0) given.insert(name);
      if (normalise->count() > 0 || app.get_option("--no-normalise-key")->count() > 0) given.insert("normalise-key");
      if (const std::string conflict = model::resume_conflict(stored, model::run_settings(options), given, out);
          !conflict.empty())
        throw model::InputError(conflict);
      model::apply_run_settings(stored, options);
      if (epochs) options.recipe.epochs = epochs;
    }
    options.out = out;
    options.cache_dir = cache;
    options.terminal = isatty(STDOUT_FILENO);
    if (!model::check_outputs(options, std::cout)) return 0;  // before the first line: nothing to do
    std::cout << tools::runs_on(options.device) << std::endl;
    return model::train(options, std::cout);
  } catch (const model::InputError& e) {
    std::cerr << "trainer: " << e.what() << "\n";
    return tools::kUsageError;
  } catch (const std::exception& e) {
    std::cerr << "trainer: " << tools::describe(e) << "\n";
    return 1;
  }
}
