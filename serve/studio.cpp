#include "serve/studio.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <sstream>

#include "corpus/corpus.h"
#include "eval/features.h"
#include "midi/writer.h"
#include "model/composition.h"
#include "model/encoding.h"
#ifdef LEGATO_HAVE_FLUIDSYNTH
#include "render/audio.h"
#endif
#include "render/instruments.h"
#include "render/piano_roll.h"

namespace legato::serve {

using nlohmann::json;

namespace {

// The shift from C's key signature to major tonic `key` (0..11), the nearer way (-5..+6), as
// model::draw_key_shift moves pieces.
int shift_to(int key) { return key <= 6 ? key : key - 12; }

// The piece's files beside each other: MIDI, piano roll, and audio where FluidSynth is built.
json write_files(FileStore& store, const std::string& name, const midi::Score& score, bool audio) {
  json files = json::object();
  midi::write_midi_file(score, store.path_of(name, ".mid"));
  store.add_file(name + ".mid");
  files["mid"] = name + ".mid";
  render::RollOptions roll;
  roll.title = name + ".mid";
  render::write_text_file(store.path_of(name, ".svg"), render::piano_roll_svg(score, roll));
  store.add_file(name + ".svg");
  files["svg"] = name + ".svg";
#ifdef LEGATO_HAVE_FLUIDSYNTH
  if (audio) {
    render::render_wav(score, store.path_of(name, ".wav"));
    store.add_file(name + ".wav");
    files["wav"] = name + ".wav";
  }
#endif
  return files;
}

// Tokens, or seconds of music at 120 bpm (as composer --seconds), at most kMaxLength tokens either way:
// a network that plays many notes at once would take hours to fill an hour.
model::PieceLength piece_length(const ComposeRequest& r) {
  if (r.seconds <= 0) return {r.length, 0};
  return {kMaxLength, model::steps_of_seconds(r.seconds, 0)};
}

}  // namespace

Studio::Studio(std::vector<ModelEntry> models, FileStore& store, bool audio)
    : models_(std::move(models)), store_(store), audio_(audio) {}

const ModelEntry& Studio::model(const std::string& name) const {
  for (const auto& m : models_)
    if (m.name == name) return m;
  throw RequestError(404, "no checkpoint named " + json(name).dump() + " (GET /api/models lists them)");
}

void Studio::check(const ComposeRequest& r) const {
  if (model(r.model).scheme == "seed" && r.seconds > 0)
    throw RequestError(400, "seconds needs a checkpoint of the event scheme (this one's is seed): give length");
  if (!r.primer_upload.empty() && !store_.written(r.primer_upload + ".mid"))
    throw RequestError(404, "primer.upload: no upload named " + r.primer_upload + " in this session");
  if (!r.primer_piece.empty() && !store_.written(r.primer_piece + ".mid"))
    throw RequestError(404, "primer.piece: no piece named " + r.primer_piece + " in this session");
}

std::shared_ptr<const model::LoadedCheckpoint> Studio::checkpoint(const ModelEntry& entry) {
  std::lock_guard lock(mutex_);  // one load per checkpoint; generation only reads the weights
  auto& slot = loaded_[entry.name];
  if (!slot) slot = std::make_shared<model::LoadedCheckpoint>(model::load_checkpoint(entry.path));
  return slot;
}

// As composer chooses: the end of a MIDI file (upload or earlier piece), moved into C for a
// network trained there; else a training window (seed scheme) or BOS.
model::PrimerWindow Studio::primer_of(const ComposeRequest& r, const model::CheckpointMeta& meta, std::mt19937_64& rng,
                                      std::optional<int>& primer_key) {
  const std::string file = !r.primer_upload.empty() ? r.primer_upload : r.primer_piece;
  if (!file.empty()) {
    std::vector<int> shifts;
    std::ostringstream log;
    const auto pieces = model::encode_files({*store_.written(file + ".mid")}, meta.scheme, meta.vocab, log,
                                            !meta.keys.empty(), &shifts);
    if (pieces.empty() || pieces[0].empty()) throw RequestError(400, "primer " + file + ": no notes to continue");
    if (!meta.keys.empty()) primer_key = -shifts[0];
    return model::primer_window(meta, model::primer_from_piece(pieces[0], meta.vocab, 0), meta.seq_len);
  }
  if (!meta.primers.empty())
    return {{}, meta.primers[std::uniform_int_distribution<size_t>(0, meta.primers.size() - 1)(rng)]};
  const auto bos = std::find(meta.vocab.begin(), meta.vocab.end(), "BOS");
  if (bos == meta.vocab.end()) throw RequestError(400, "the checkpoint has no primer windows and no BOS token");
  return {{}, {static_cast<int32_t>(bos - meta.vocab.begin())}};
}

json Studio::compose(const ComposeRequest& r, const Progress& progress) {
  const ModelEntry& entry = model(r.model);
  const auto ck = checkpoint(entry);
  const model::CheckpointMeta& meta = ck->meta;
  std::mt19937_64 rng(r.seed);
  std::optional<int> primer_key;
  const model::PrimerWindow primer = primer_of(r, meta, rng, primer_key);
  const bool user_primer = !r.primer_upload.empty() || !r.primer_piece.empty();
  const int shift = r.key ? shift_to(*r.key) : primer_key ? *primer_key : model::draw_key_shift(meta.keys, rng);
  const std::vector<int32_t> start = user_primer ? primer.tokens : model::piece_primer(meta, primer.tokens, {}, rng);
  const auto started = std::chrono::steady_clock::now();
  bool stopped = false;
  const auto generated = model::compose_piece(
      *ck->net, meta, start, piece_length(r), r.sampling, rng,
      [&](const std::vector<int32_t>& tokens) { return !(stopped = !progress(int64_t(tokens.size()))); },
      primer.context);
  if (stopped) throw Cancelled();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // The user's primer leads in, after its context (which names its instruments and sounds nothing).
  std::vector<int32_t> heard = primer.context;
  if (user_primer) heard.insert(heard.end(), start.begin(), start.end());
  heard.insert(heard.end(), generated.begin(), generated.end());
  midi::Score score = model::score_of(meta.scheme, meta.vocab, heard, 0, shift, !r.one_part);
  render::name_parts(score);
  const std::string name = store_.reserve("piece");
  std::vector<int32_t> all = primer.context;
  all.insert(all.end(), start.begin(), start.end());
  all.insert(all.end(), generated.begin(), generated.end());
  json summary = {{"name", name},
                  {"model", entry.name},
                  {"tokens", generated.size()},
                  {"notes", score.notes.size()},
                  {"distinct", std::set<int32_t>(generated.begin(), generated.end()).size()},
                  {"longest_run", model::longest_run(generated)},
                  {"seconds", seconds},
                  {"seed", r.seed},
                  {"ensemble", meta.scheme == "event" ? render::ensemble_names(model::ensemble_of(meta, all)) : ""},
                  {"features", piece_features(eval::features_of(score))},
                  {"corpus_features", corpus_.of(entry)}};
  summary["files"] = write_files(store_, name, score, audio_);
  store_.add_piece(summary);
  return summary;
}

}  // namespace legato::serve
