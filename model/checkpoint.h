#pragma once
// Model checkpoints: the parameters as a safetensors file named like the equivalent PyTorch
// module's state_dict, with the config and vocabulary in __metadata__ (legato.config,
// legato.vocab, and legato.primers for the seed scheme), so the file alone is enough to compose.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "model/music_lstm.h"
#include "model/safetensors.h"

namespace legato::model {

// What a style's training pieces keep to (trainer --style-from-folders; docs/controls.md), which
// composer --style composes toward when not told otherwise: a style's pieces differ from another's
// in their range and length as much as in anything (bench/results/quality.md, 2026-12-07).
struct StyleProfile {
  std::string style;  // its name, as composer --style takes it
  // The medians over its training pieces of their pitched notes' 5th and 95th percentiles
  // (midi::pitch_percentile): the low one rounded down, the high one to the nearest (half to even),
  // as bench/style_quality.py made them; -1 when no piece has pitched notes.
  int pitch_lo = -1, pitch_hi = -1;
  double seconds = 0;         // the median of their lengths (midi::music_seconds)
  double notes_per_beat = 0;  // the median of their notes per beat (midi::notes_per_beat)
  int64_t pieces = 0;         // how many training pieces it was measured on
  bool has_range() const { return pitch_lo >= 0; }
};

struct CheckpointMeta {
  ModelConfig config;
  // The tokenizer scheme of the vocabulary: "seed", "event" (its current version, with the
  // ensemble header) or "event:1" (before it). In legato.config: "scheme" and "scheme_version".
  std::string scheme = "seed";
  std::string objective = "last";             // "last" (the seed's windows) or "all"
  int64_t seq_len = 100;                      // window / chunk length used in training
  std::vector<std::string> vocab;             // token strings in id order
  std::vector<std::vector<int32_t>> primers;  // a few training windows (seed scheme)
  // Trained with every piece moved to C's key signature (trainer --normalise-key): how many
  // training pieces were in each key signature (major tonic 0..11), the keys composed music is
  // moved back into. Empty: the network learned the pieces in their own keys.
  std::vector<int64_t> keys;
  // Event scheme version 2: the ensemble header (token ids after BOS) of every training piece,
  // to draw a piece's ensemble from in proportion to the corpus (legato.ensembles).
  std::vector<std::vector<int32_t>> ensembles;
  // The share of training windows arranged for infilling (trainer --infill-rate; "infill_rate" in
  // legato.config, written only when above 0): composer --infill needs it above 0.
  double infill_rate = 0;
  // Control tokens (trainer --controls, midi/controls.h): the controls its windows began with, in
  // their order ("controls" in legato.config, written only when there are some); the notes per
  // beat between the corpus's density thirds ("density_bounds"); and every training piece's
  // control tokens (legato.controls), which composer draws the controls not asked for from.
  std::vector<std::string> controls;
  std::vector<double> density_bounds;
  std::vector<std::vector<int32_t>> piece_controls;
  // With the style control: every style's profile, by name (legato.styles; absent before them).
  std::vector<StyleProfile> style_profiles;
};

// The profile of `style` in `meta`; nullptr when the checkpoint has none for it.
const StyleProfile* style_profile(const CheckpointMeta& meta, const std::string& style);
// std::runtime_error with one line for a profile no training could have written (a range outside
// 0..127 or upside down, a length or density negative or not finite, no pieces).
void check_style_profile(const StyleProfile& profile);

void save_checkpoint(const std::filesystem::path& path, const MusicLSTM& net, const CheckpointMeta& meta);
// What save_checkpoint writes, for files that carry more (the trainer's state file).
SafetensorsFile checkpoint_file(const MusicLSTM& net, const CheckpointMeta& meta);

struct LoadedCheckpoint {
  CheckpointMeta meta;
  std::unique_ptr<MusicLSTM> net;
};

// Throws std::runtime_error naming the file and the problem (missing or misshapen tensor,
// missing metadata, vocabulary size disagreeing with the output layer).
LoadedCheckpoint load_checkpoint(const std::filesystem::path& path);

// "" when `path` looks like a checkpoint (a file in the safetensors format); else what is wrong and
// what to give instead: "no such file", "is a folder (did you mean DIR/best.safetensors?)", "is not
// a checkpoint ...". Checked before load_checkpoint, whose errors are about damaged checkpoints.
std::string checkpoint_problem(const std::filesystem::path& path);

// The config as JSON (what legato.config holds) and back.
std::string config_to_json(const CheckpointMeta& meta);
void config_from_json(const std::string& json, CheckpointMeta& meta);

}  // namespace legato::model
