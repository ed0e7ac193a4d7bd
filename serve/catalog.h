#pragma once
// The checkpoints a server offers: every *.safetensors file under the models folder (the trainer's
// state files left out), each known by a name made here from its path. A request names a
// checkpoint only by such a name, looked up in this list: nothing from a request is ever joined
// into a path.
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/features.h"

namespace legato::serve {

struct ModelEntry {
  std::string name;                           // "run/best.safetensors": the path under the models folder
  std::filesystem::path path;                 // the file itself
  std::string preset;                         // from run.json beside it ("" when unknown)
  int64_t vocabulary = 0;                     // tokens in its vocabulary
  std::string scheme;                         // "seed", "event", "event:1"
  std::string trained;                        // the file's modification time, UTC, ISO 8601
  double mean_oa = -1;                        // the last mean OA in metrics.csv beside it; -1 when none
  std::vector<std::filesystem::path> corpus;  // validation.txt's pieces beside it, where listed
  // The values it knows per control it was trained with (model::known_values): the page's choices.
  std::map<std::string, std::vector<std::string>> controls;
};

// The entry as the page shows it.
nlohmann::json to_json(const ModelEntry& m);

// Checkpoints in `folder` and its subfolders (3 levels deep), sorted by name; unreadable files are
// left out with a line on `log`.
std::vector<ModelEntry> find_models(const std::filesystem::path& folder, std::ostream& log);

// The last mean OA in a trainer's metrics.csv, or -1 without one.
double last_mean_oa(const std::filesystem::path& metrics_csv);

// The corpus's mean of the features the page shows beside a piece's (piece_features), computed
// once per model on first use; null where the model's corpus is unknown or unreadable.
class CorpusFeatures {
 public:
  nlohmann::json of(const ModelEntry& model);

 private:
  std::mutex mutex_;
  std::map<std::string, nlohmann::json> cache_;
};

// The scalar features of a piece the page shows (eval/features.h), NaN as null.
nlohmann::json piece_features(const eval::Features& f);

}  // namespace legato::serve
