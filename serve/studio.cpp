#include "serve/studio.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <sstream>

#include "corpus/corpus.h"
#include "eval/features.h"
#include "model/composition.h"
#include "render/instruments.h"
#include "render/piece_files.h"

namespace legato::serve {

using nlohmann::json;

namespace {

// The shift from C's key signature to major tonic `key` (0..11), the nearer way (-5..+6), as
// model::draw_key_shift moves pieces.
int shift_to(int key) { return key <= 6 ? key : key - 12; }

// The piece's files beside each other: MIDI, piano roll, and audio where FluidSynth is built.
json write_files(FileStore& store, const std::string& name, const midi::Score& score, bool audio) {
  render::PieceFiles paths;
  paths.mid = store.path_of(name, ".mid");
  paths.svg = store.path_of(name, ".svg");
  paths.title = name + ".mid";
  json files = {{"mid", name + ".mid"}, {"svg", name + ".svg"}};
#ifdef LEGATO_HAVE_FLUIDSYNTH
  if (audio) paths.wav = store.path_of(name, ".wav"), files["wav"] = name + ".wav";
#endif
  render::write_piece_files(score, paths);
  for (const auto& [kind, file] : files.items()) store.add_file(file.get<std::string>());
  return files;
}

// Tokens, or seconds of music at 120 bpm (as composer --seconds), at most kMaxLength tokens either way:
// a network that plays many notes at once would take hours to fill an hour. Without either, a style's
// pieces last as long as its training pieces (its profile), as composer's do.
model::PieceLength piece_length(const ComposeRequest& r, const model::CheckpointMeta& meta) {
  const auto style_seconds = model::style_seconds(meta, r.controls);
  const double seconds = r.seconds > 0 || r.length_given || !style_seconds ? r.seconds : *style_seconds;
  if (seconds <= 0) return {r.length, 0};
  return {kMaxLength, model::steps_of_seconds(std::min(seconds, kMaxSeconds), 0)};
}

// composer's one-line refusals of controls, and two of the page's own: a key with a primer (it brings
// its own) or with the key signature field.
void check_controls(const ComposeRequest& r, const model::CheckpointMeta& meta, const std::string& primer) {
  if (!r.controls.key.empty() && !primer.empty())
    throw RequestError(400, "controls.key " + r.controls.key + ": the primer " + primer + " brings its own key");
  if (!r.controls.key.empty() && r.key)
    throw RequestError(400, "controls.key " + r.controls.key + " and key: give one or the other");
  try {
    model::check_controls(meta, r.controls);
  } catch (const std::invalid_argument& e) {
    throw RequestError(400, e.what());
  }
}

}  // namespace

Studio::Studio(std::vector<ModelEntry> models, FileStore& store, bool audio, Precision precision)
    : models_(std::move(models)), store_(store), audio_(audio), precision_(precision) {}

const ModelEntry& Studio::model(const std::string& name) const {
  for (const auto& m : models_)
    if (m.name == name) return m;
  throw RequestError(404, "no checkpoint named " + json(name).dump() + " (GET /api/models lists them)");
}

void Studio::check(const ComposeRequest& r) {
  if (model(r.model).scheme == "seed" && r.seconds > 0)
    throw RequestError(400, "seconds needs a checkpoint of the event scheme (this one's is seed): give length");
  if (!r.primer_upload.empty() && !store_.written(r.primer_upload + ".mid"))
    throw RequestError(404, "primer.upload: no upload named " + r.primer_upload + " in this session");
  if (!r.primer_piece.empty() && !store_.written(r.primer_piece + ".mid"))
    throw RequestError(404, "primer.piece: no piece named " + r.primer_piece + " in this session");
  if (!r.controls.empty() || r.controls.pitch_range)
    check_controls(r, checkpoint(model(r.model))->meta, !r.primer_upload.empty() ? r.primer_upload : r.primer_piece);
}

std::shared_ptr<const model::LoadedCheckpoint> Studio::checkpoint(const ModelEntry& entry) {
  std::lock_guard lock(mutex_);  // one load per checkpoint; generation only reads the weights
  auto& slot = loaded_[entry.name];
  if (!slot) {
    auto ck = std::make_shared<model::LoadedCheckpoint>(model::load_checkpoint(entry.path));
    ck->net->set_precision(precision_);
    slot = std::move(ck);
  }
  return slot;
}

// The request as the composition pipeline's: the end of a MIDI file (upload or earlier piece) as
// the primer, else the pipeline's default (a training window or BOS); the key where one is asked for.
model::CompositionRequest Studio::request_of(const ComposeRequest& r, const model::CheckpointMeta& meta) {
  model::CompositionRequest request;
  const std::string file = !r.primer_upload.empty() ? r.primer_upload : r.primer_piece;
  if (!file.empty()) {
    std::ostringstream log;
    request.primer = model::music_primer_of_file(*store_.written(file + ".mid"), meta, log);
    if (request.primer.tokens.empty()) throw RequestError(400, "primer " + file + ": no notes to continue");
  }
  if (const std::string problem = model::composition_problem(meta, request); !problem.empty())
    throw RequestError(400, file.empty() ? problem : "primer " + file + ": " + problem);
  if (r.key) request.key_shift = shift_to(*r.key);
  request.controls = r.controls;
  // As before controls came, unless one (or a pitch range, which guidance keeps to) is asked for.
  request.with_controls = !r.controls.empty() || r.controls.pitch_range;
  request.length = piece_length(r, meta);
  request.seed = r.seed;
  request.sampling = r.sampling;
  request.two_hands = !r.one_part;
  request.grid_strength = model::grid_strength_for(request.controls);  // as composer's
  return request;
}

json Studio::compose(const ComposeRequest& r, const Progress& progress) {
  const ModelEntry& entry = model(r.model);
  const auto ck = checkpoint(entry);
  const model::CheckpointMeta& meta = ck->meta;
  bool stopped = false;
  model::CompositionHooks hooks;
  hooks.start = [&](int, int) -> model::TokenListener {
    return [&](const std::vector<int32_t>& tokens) { return !(stopped = !progress(int64_t(tokens.size()))); };
  };
  std::vector<model::ComposedPiece> pieces;
  hooks.done = [&](model::ComposedPiece& piece) {
    pieces.push_back(std::move(piece));
    return true;
  };
  model::compose_pieces(*ck->net, meta, request_of(r, meta), hooks);
  if (stopped) throw Cancelled();
  model::ComposedPiece& piece = pieces.at(0);
  const std::vector<int32_t>& generated = piece.generated;
  midi::Score& score = piece.score;
  render::name_parts(score);
  const std::string name = store_.reserve("piece");
  json summary = {
      {"name", name},
      {"model", entry.name},
      {"tokens", generated.size()},
      {"notes", score.notes.size()},
      {"distinct", std::set<int32_t>(generated.begin(), generated.end()).size()},
      {"longest_run", model::longest_run(generated)},
      {"seconds", piece.seconds},
      {"seed", r.seed},
      {"precision", to_string(ck->net->precision())},
      {"ensemble", meta.scheme == "event" ? render::ensemble_names(model::ensemble_of(meta, piece.all())) : ""},
      {"controls", model::describe_controls(meta, piece.controls, piece.shift)},
      {"features", piece_features(eval::features_of(score))},
      {"corpus_features", corpus_.of(entry)}};
  summary["files"] = write_files(store_, name, score, audio_);
  store_.add_piece(summary);
  return summary;
}

}  // namespace legato::serve
