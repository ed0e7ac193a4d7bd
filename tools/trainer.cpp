// trainer: trains a MusicLSTM on a folder of MIDI files (the default corpus without --data).
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <iostream>
#include <set>
#include <sstream>

#include "cli_errors.h"
#include "device.h"
#include "dist/world.h"
#include "engine/device_sum.h"
#include "tools/openmp_waits.h"
#include "train/distributed.h"
#include "train/trainer.h"

namespace {

// For --help: "(default: the preset's: seed 200, default 100, tiny 20)".
std::string by_preset(const std::function<std::string(const legato::model::Recipe&)>& value) {
  std::string text;
  for (const char* name : {"seed", "default", "tiny"})
    text += (text.empty() ? "" : ", ") + std::string(name) + " " + value(legato::model::preset(name));
  return "(default: the preset's: " + text + ")";
}

// The recipe's flags as given (0, -1 or empty: not given, the preset's value stands).
struct RecipeFlags {
  std::string preset = "default", scheme, objective, best_by;
  int epochs = 0, layers = 0, transpose = -1;
  int64_t batch = 0, seq_len = 0, hidden = 0, embedding = 0;
  double lr = 0, val_split = -1, clip = -1, dropout = -1, infill_rate = -1;
  bool key_c = false, key_as_written = false;
  std::string controls;  // "key,density,style", "none"; empty: the preset's
  bool style_from_folders = false;
  CLI::Option* normalise = nullptr;  // --normalise-key, whose count says whether it was given
};

// What the run learns from: the preset (whose values the flags below default to), tokens, objective.
void add_preset_flags(CLI::App& app, RecipeFlags& f) {
  using legato::model::Recipe;
  using namespace legato;
  app.add_option("--preset", f.preset,
                 "seed (the Keras seed exactly), default (our recipe) or tiny; the settings below default to its "
                 "values")
      ->check(CLI::IsMember({"seed", "default", "tiny"}))
      ->capture_default_str();
  app.add_option("--scheme", f.scheme,
                 "Tokenizer: seed or event " + by_preset([](const Recipe& r) { return r.scheme; }))
      ->check(CLI::IsMember({"seed", "event"}));
  app.add_option("--objective", f.objective,
                 "last (the seed's windows) or all (a target at every step) " +
                     by_preset([](const Recipe& r) { return r.objective; }))
      ->check(CLI::IsMember({"last", "all"}));
}

// The run's size and the network's shape.
void add_model_flags(CLI::App& app, RecipeFlags& f) {
  using legato::model::Recipe;
  using namespace legato;
  app.add_option("--epochs", f.epochs, "Epochs " + by_preset([](const Recipe& r) { return std::to_string(r.epochs); }))
      ->check(tools::whole_in(1, 1000000));
  app.add_option("--batch", f.batch, "Batch size " + by_preset([](const Recipe& r) { return std::to_string(r.batch); }))
      ->check(tools::whole_in(1, 65536));
  app.add_option("--seq-len", f.seq_len, "Window / chunk length in tokens " + by_preset([](const Recipe& r) {
                                           return std::to_string(r.seq_len);
                                         }))
      ->check(tools::whole_in(1, 100000));
  app.add_option("--hidden", f.hidden,
                 "LSTM units per layer " + by_preset([](const Recipe& r) { return std::to_string(r.model.hidden); }))
      ->check(tools::whole_in(1, 16384));
  app.add_option("--layers", f.layers,
                 "LSTM layers " + by_preset([](const Recipe& r) { return std::to_string(r.model.layers); }))
      ->check(tools::whole_in(1, 16));
  app.add_option("--embedding", f.embedding, "Embedding size (embedding input) " + by_preset([](const Recipe& r) {
                                               return r.model.input == model::InputKind::Embedding
                                                          ? std::to_string(r.model.embedding_dim)
                                                          : std::string("none: scalar input");
                                             }))
      ->check(tools::whole_in(1, 16384));
  app.add_option("--dropout", f.dropout,
                 "Dropout rate between layers and before the last dense layer " +
                     by_preset([](const Recipe& r) { return tools::number_text(r.model.dropout); }))
      ->check(tools::number_in(0.0, 0.95));
}

// How the network learns from the corpus: the optimiser, the split, transpositions and the keys.
void add_learning_flags(CLI::App& app, RecipeFlags& f) {
  using legato::model::Recipe;
  using namespace legato;
  app.add_option("--lr", f.lr, "Learning rate " + by_preset([](const Recipe& r) { return tools::number_text(r.lr); }))
      ->check(tools::positive());
  app.add_option("--clip", f.clip, "Global gradient-norm limit (0: none) " + by_preset([](const Recipe& r) {
                                     return tools::number_text(r.clip);
                                   }))
      ->check(tools::non_negative());
  app.add_option("--val-split", f.val_split,
                 "Fraction of pieces held out for validation (their names: validation.txt in --out) " +
                     by_preset([](const Recipe& r) { return tools::number_text(r.val_split); }))
      ->check(tools::number_in(0.0, 0.9));
  app.add_option("--transpose", f.transpose,
                 "Augment with transpositions of -N..+N semitones " +
                     by_preset([](const Recipe& r) { return std::to_string(r.transpose); }))
      ->check(tools::whole_in(0, 24));
  app.add_option("--best-by", f.best_by,
                 "What best.safetensors keeps: the lowest validation loss, or the music closest to the validation "
                 "pieces (mean OA of the last 3 measurements) " +
                     by_preset([](const Recipe& r) { return r.best_by; }))
      ->check(CLI::IsMember({"loss", "music"}));
  app.add_option("--infill-rate", f.infill_rate,
                 "Share of windows arranged suffix, prefix, middle so that composer --infill can fill bars in "
                 "(event scheme, objective all; docs/infill.md) " +
                     by_preset([](const Recipe& r) { return legato::tools::number_text(r.infill_rate); }))
      ->check(legato::tools::number_in(0.0, 1.0));
  f.normalise = app.add_flag("--normalise-key", f.key_c,
                             "Train every piece in C major's key signature (A minor's), --transpose around it; "
                             "composer moves the music into the corpus's keys " +
                                 by_preset([](const Recipe& r) { return r.normalise_key ? "on" : "off"; }));
  app.add_flag("--no-normalise-key", f.key_as_written, "Train every piece in its own key")->excludes(f.normalise);
}

// Control tokens (docs/controls.md): what composer --key, --density and --style can then ask for.
void add_control_flags(CLI::App& app, RecipeFlags& f) {
  using legato::model::Recipe;
  app.add_option("--controls", f.controls,
                 "Control tokens in front of training windows, comma separated: key, density, style; or none "
                 "(event scheme; docs/controls.md) " +
                     by_preset([](const Recipe& r) {
                       std::string text;
                       for (const std::string& c : r.controls) text += (text.empty() ? "" : ",") + c;
                       return text.empty() ? std::string("none") : text;
                     }))
      ->check([](const std::string& text) {
        std::istringstream in(text);
        for (std::string c; std::getline(in, c, ',');)
          if (c != "key" && c != "density" && c != "style" && !(c == "none" && text == "none"))
            return "'" + c + "' is not a control (key, density, style, or none alone)";
        return std::string();
      });
  app.add_flag("--style-from-folders", f.style_from_folders,
               "Add the style control: each file's style is the top-level folder of --data it is in");
}

// The recipe: the preset's, with every flag given put over it.
legato::model::Recipe recipe_of(const RecipeFlags& f) {
  legato::model::Recipe r = legato::model::preset(f.preset);
  if (!f.scheme.empty()) r.scheme = f.scheme;
  if (!f.objective.empty()) r.objective = f.objective;
  if (f.epochs) r.epochs = f.epochs;
  if (f.batch) r.batch = f.batch;
  if (f.seq_len) r.seq_len = f.seq_len;
  if (f.hidden) r.model.hidden = f.hidden;
  if (f.layers) r.model.layers = f.layers;
  if (f.embedding) {
    r.model.input = legato::model::InputKind::Embedding;
    r.model.embedding_dim = f.embedding;
  }
  if (f.dropout >= 0) r.model.dropout = f.dropout;
  if (f.lr > 0) r.lr = f.lr;
  if (f.clip >= 0) r.clip = f.clip;
  if (f.val_split >= 0) r.val_split = f.val_split;
  if (f.transpose >= 0) r.transpose = f.transpose;
  if (f.key_c || f.key_as_written) r.normalise_key = f.key_c;
  if (!f.best_by.empty()) r.best_by = f.best_by;
  if (f.infill_rate >= 0) r.infill_rate = f.infill_rate;
  if (!f.controls.empty()) {
    r.controls.clear();
    std::istringstream in(f.controls == "none" ? "" : f.controls);
    for (std::string c; std::getline(in, c, ',');)
      if (std::find(r.controls.begin(), r.controls.end(), c) == r.controls.end()) r.controls.push_back(c);
  }
  if (f.style_from_folders && std::find(r.controls.begin(), r.controls.end(), "style") == r.controls.end())
    r.controls.push_back("style");
  return r;
}

// Where the run goes and how it runs: output, resuming, the cache, time limits and music metrics.
void add_run_flags(CLI::App& app, legato::model::TrainOptions& options, std::string& out, std::string& cache) {
  using namespace legato;
  app.add_option("--seed", options.seed, "Random seed (initialisation, split, order, dropout)")->capture_default_str();
  app.add_option("--out", out, "Output folder")->capture_default_str();
  auto* resume_flag = app.add_flag("--resume", options.resume,
                                   "Continue the run in --out from its last checkpoint, with its corpus, preset and "
                                   "options (run.json); only --epochs may change");
  app.add_flag("--overwrite", options.overwrite, "Replace the run in --out (a fresh run into one is refused without)")
      ->excludes(resume_flag);
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
}

// --resume: the run's own settings (run.json) into `options`; a flag given now must agree with
// them (but --epochs, to train on). Throws InputError naming the first that does not.
void take_run_settings(const CLI::App& app, const RecipeFlags& f, const std::string& out,
                       legato::model::TrainOptions& options) {
  using namespace legato;
  const model::RunSettings stored = model::load_run_settings(out);
  std::set<std::string> given;
  for (const auto& [name, value] : stored)
    if (const CLI::Option* opt = app.get_option_no_throw("--" + name); opt && opt->count() > 0) given.insert(name);
  if (f.normalise->count() > 0 || app.get_option("--no-normalise-key")->count() > 0) given.insert("normalise-key");
  if (const std::string conflict = model::resume_conflict(stored, model::run_settings(options), given, out);
      !conflict.empty())
    throw model::InputError(conflict);
  model::apply_run_settings(stored, options);
  if (f.epochs) options.recipe.epochs = f.epochs;
}

// The run as the flags ask for it, then trained; returns the exit code.
int run(const CLI::App& app, const RecipeFlags& f, const std::vector<std::string>& data, const std::string& out,
        const std::string& cache, legato::model::TrainOptions& options) {
  using namespace legato;
  options.recipe = recipe_of(f);
  for (const auto& d : data) options.data.push_back(d);
  options.preset = f.preset;
  if (options.resume && std::filesystem::exists(model::run_settings_file(out))) take_run_settings(app, f, out, options);
  options.out = out;
  options.cache_dir = cache;
  options.terminal = isatty(STDOUT_FILENO);
  if (!model::check_outputs(options, std::cout)) return 0;  // before the first line: nothing to do
  const dist::World& world = dist::World::get();
  model::choose_device(world, options.device);  // one GPU per rank, before the line that names it
  const std::string nccl = options.device == Device::CUDA ? device_sum_version() : "";
  if (world.distributed() && world.root())
    std::cout << world.describe() << (nccl.empty() ? "" : ", gradients summed by " + nccl) << std::endl;
  if (world.root()) std::cout << tools::runs_on(options.device, options.precision) << std::endl;
  return model::train(options, std::cout);
}

// Joins the MPI job a launcher started this process in (else a world of one); false, with the
// line printed, when this build cannot.
bool join_world(double rank_timeout) {
  try {
    legato::dist::World::get().set_timeout(rank_timeout);
    return true;
  } catch (const std::exception& e) {
    legato::tools::error_line("trainer", e.what());
    return false;
  }
}

// Trains; of several ranks, rank 0 alone reports bad input (every rank meets it alike), each rank
// its own failures. Returns the exit code, the MPI job left.
int train_and_report(const CLI::App& app, const RecipeFlags& f, const std::vector<std::string>& data,
                     const std::string& out, const std::string& cache, legato::model::TrainOptions& options) {
  using namespace legato;
  dist::World& world = dist::World::get();
  const std::string rank = world.distributed() ? "rank " + std::to_string(world.rank()) + ": " : "";
  try {
    return world.finish(run(app, f, data, out, cache, options));
  } catch (const model::InputError& e) {
    if (world.root()) tools::error_line("trainer", e.what());
    return world.finish(tools::kUsageError);
  } catch (const std::exception& e) {
    tools::error_line("trainer", rank + tools::describe(e));
    return world.finish(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  legato::tools::shorten_openmp_waits(argv);  // before any OpenMP work (tools/openmp_waits.h)
  using namespace legato;
  CLI::App app{"Train an LSTM on MIDI files; checkpoints, metrics.csv and loss.svg go to --out.", "trainer"};
  std::vector<std::string> data;
  std::string device = "cpu", precision = "fp32", out = "out/train", cache;
  RecipeFlags flags;
  model::TrainOptions options;
  app.add_option("--data", data, "MIDI files or folders (default: Debian's openttd-openmsx music)");
  add_preset_flags(app, flags);
  app.add_option("--device", device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  app.add_option("--precision", precision,
                 "Matrix products in fp32; tf32 on the GPU's tensor cores (faster, about 3 fewer digits); or bf16 "
                 "with fp32 accumulation (CPUs with AVX512-BF16 or AMX)")
      ->check(CLI::IsMember({"fp32", "tf32", "bf16"}))
      ->capture_default_str();
  add_model_flags(app, flags);
  add_learning_flags(app, flags);
  add_control_flags(app, flags);
  add_run_flags(app, options, out, cache);
  double rank_timeout = 20;
  app.add_option("--rank-timeout", rank_timeout,
                 "Under mpirun: seconds a rank waits for the others before it takes one for lost and exits "
                 "(a rank on this host that dies is seen at once)")
      ->check(tools::positive("; the default is 20"))
      ->capture_default_str();
  if (const int code = tools::parse_command_line(app, argc, argv); code >= 0) return code;

  if (const std::string problem = tools::device_problem(device); !problem.empty()) {
    tools::error_line("trainer", problem);
    return tools::kUsageError;
  }
  options.device = tools::parse_device(device);
  // Before the first line, which says the precision.
  if (const std::string problem = tools::precision_flag_problem(precision, options.device); !problem.empty()) {
    tools::error_line("trainer", problem);
    return tools::kUsageError;
  }
  options.precision = tools::precision_of(precision);
  if (!join_world(rank_timeout)) return 1;
  return train_and_report(app, flags, data, out, cache, options);
}
