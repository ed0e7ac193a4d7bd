#include "train/recipe_checks.h"

#include <nlohmann/json.hpp>

#include "midi/paths.h"
#include "model/safetensors.h"

namespace legato::model {
namespace {

// The files of a run in `dir` (not the token cache, which belongs to the corpus).
std::vector<std::filesystem::path> run_files(const std::filesystem::path& dir) {
  return {last_checkpoint(dir), best_checkpoint(dir),   train_state_file(dir), dir / "metrics.csv",
          dir / "loss.svg",     dir / "validation.txt", run_settings_file(dir)};
}

bool holds_run(const std::filesystem::path& dir) {
  return std::filesystem::exists(train_state_file(dir)) || std::filesystem::exists(last_checkpoint(dir)) ||
         std::filesystem::exists(best_checkpoint(dir));
}

}  // namespace

void check_recipe(const Recipe& r) {
  if (r.seq_len < 1 || r.batch < 1 || r.epochs < 1 || r.lr <= 0 || r.val_split < 0 || r.val_split >= 1 || r.clip < 0 ||
      r.transpose < 0 || r.transpose > 24 || r.model.hidden < 1 || r.model.layers < 1 || !(r.model.dropout >= 0) ||
      r.model.dropout >= 1)
    throw InputError(
        "bad training values: need seq-len, batch, epochs, hidden, layers >= 1, lr > 0, "
        "0 <= val-split < 1, 0 <= transpose <= 24, 0 <= dropout < 1");
  if (r.best_by != "loss" && r.best_by != "music") throw InputError("bad best-by '" + r.best_by + "': loss or music");
  if (!(r.infill_rate >= 0 && r.infill_rate <= 1)) throw InputError("bad infill-rate: need 0 <= infill-rate <= 1");
  if (r.infill_rate > 0 && (r.scheme != "event" || r.objective != "all"))
    throw InputError("--infill-rate needs the event scheme and the objective all (this run: " + r.scheme + ", " +
                     r.objective + ")");
  for (const std::string& c : r.controls)
    if (c != "key" && c != "density" && c != "style")
      throw InputError("bad control '" + c + "': key, density or style");
  if (!r.controls.empty() && r.scheme != "event")
    throw InputError("--controls needs the event scheme (this run: " + r.scheme + ")");
}

void check_music_options(const TrainOptions& o) {
  if (o.eval_pieces < 0 || o.eval_every < 0 || o.eval_length < 1)
    throw InputError("bad music-metric values: need eval-pieces >= 0, eval-every >= 0, eval-length >= 1");
}

bool all_steps_of(const Recipe& r) {
  if (r.objective != "all" && r.objective != "last")
    throw InputError("unknown objective '" + r.objective + "' (last or all)");
  return r.objective == "all";
}

bool check_outputs(const TrainOptions& o, std::ostream& out) {
  check_recipe(o.recipe);  // a recipe that cannot train is one line before any other
  if (const std::string problem = precision_problem(o.precision, o.device); !problem.empty())
    throw InputError("--precision " + to_string(o.precision) + ": " + problem);
  for (const auto& p : o.data)
    if (const std::string problem = midi::input_path_problem(p); !problem.empty())
      throw InputError("--data " + p.string() + ": " + problem);
  if (const std::string problem = midi::output_folder_problem(o.out); !problem.empty())
    throw InputError("--out " + o.out.string() + ": " + problem + "; choose another --out");
  if (!o.no_cache && !o.cache_dir.empty())
    if (const std::string problem = midi::output_folder_problem(o.cache_dir); !problem.empty())
      throw InputError("--cache " + o.cache_dir.string() + ": " + problem + "; choose another --cache or --no-cache");
  if (!o.resume) {
    if (holds_run(o.out) && !o.overwrite)
      throw InputError("--out " + o.out.string() + " holds a run; continue it with --resume, replace it with " +
                       "--overwrite, or choose another --out");
    if (o.overwrite)
      for (const auto& f : run_files(o.out)) std::filesystem::remove(f);
    return true;
  }
  if (!std::filesystem::exists(last_checkpoint(o.out)) || !std::filesystem::exists(train_state_file(o.out)))
    throw InputError("--resume: " + o.out.string() + " holds no run to resume (no " +
                     train_state_file(o.out).filename().string() + "); start one without --resume");
  int epoch = 0;
  try {
    epoch = nlohmann::json::parse(load_safetensors(train_state_file(o.out)).metadata.at("legato.train_state"))
                .at("epoch")
                .get<int>();
  } catch (const std::exception&) {
    throw InputError("--resume: " + train_state_file(o.out).string() + " is damaged; start afresh with --overwrite");
  }
  if (epoch >= o.recipe.epochs) {
    out << "the run in " << o.out.string() << " has finished its " << epoch << " epochs; to train on, raise --epochs: "
        << "trainer --out " << o.out.string() << " --resume --epochs " << epoch + std::max(1, epoch / 2) << "\n";
    return false;
  }
  return true;
}

}  // namespace legato::model
