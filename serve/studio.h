#pragma once
// What every composition of a server shares: the checkpoints offered (each loaded once, on first
// use), the output folder, the corpus features, and how one piece is composed and written.
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/checkpoint.h"
#include "model/composition.h"
#include "serve/catalog.h"
#include "serve/request.h"
#include "serve/store.h"

namespace legato::serve {

// Thrown out of compose() when its progress callback said stop (the client went away).
class Cancelled : public std::exception {
 public:
  const char* what() const noexcept override { return "cancelled"; }
};

// Tokens generated so far of the request's length; false stops the composition.
using Progress = std::function<bool(int64_t tokens)>;

class Studio {
 public:
  // precision: that of every checkpoint it loads (legato-serve --precision; checked there).
  Studio(std::vector<ModelEntry> models, FileStore& store, bool audio, Precision precision = Precision::FP32);

  const std::vector<ModelEntry>& models() const { return models_; }
  FileStore& store() { return store_; }
  bool audio() const { return audio_; }

  // RequestError (404) for an unknown checkpoint or primer, (400) for controls the checkpoint
  // refuses (loading it): checked before the request is queued.
  const ModelEntry& model(const std::string& name) const;
  void check(const ComposeRequest& request);

  // Composes, writes piece-N.mid (.svg, and .wav with audio) and returns the piece's summary:
  // {name, model, tokens, notes, distinct, longest_run, seconds, seed, ensemble, files, features,
  // corpus_features}. Throws Cancelled, RequestError for a primer with no notes, or what failed.
  nlohmann::json compose(const ComposeRequest& request, const Progress& progress);

 private:
  std::shared_ptr<const model::LoadedCheckpoint> checkpoint(const ModelEntry& entry);
  model::CompositionRequest request_of(const ComposeRequest& r, const model::CheckpointMeta& meta);

  std::vector<ModelEntry> models_;
  FileStore& store_;
  bool audio_;
  Precision precision_;
  CorpusFeatures corpus_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const model::LoadedCheckpoint>> loaded_;
};

}  // namespace legato::serve
