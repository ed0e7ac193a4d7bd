#pragma once
// Composing a piece from a trained network: token after token with the state carried
// (model/generator.h), some tokens never sampled, stopping at EOS; and the tokens as a score.
// composer writes such pieces; the trainer composes a few to measure them against the corpus.
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "midi/grammar.h"
#include "midi/score.h"
#include "model/checkpoint.h"
#include "model/generator.h"

namespace legato::model {

// The special tokens' ids in a checkpoint's vocabulary, -1 where it has none; found through
// midi::Vocabulary::id(), the one place that maps tokens to ids.
struct SpecialIds {
  int32_t unk = -1, bos = -1, eos = -1;
};
SpecialIds special_ids(const std::vector<std::string>& vocab);

// Tokens that must never be sampled: the unknown-token marker and a second beginning.
std::vector<int32_t> banned_tokens(const std::vector<std::string>& vocab);

// `on_token` (may be empty) sees the generated tokens after each new one; false stops early.
using TokenListener = std::function<bool(const std::vector<int32_t>& generated)>;

// A piece's tokens as the beginning of new music: its end (EOS) removed, then its last `max_length`
// tokens (a window's worth: the network learnt no longer contexts), so that the network goes on
// from the music instead of starting after the piece's end. A cut-off primer begins in the middle
// of the piece, so it has no BOS either.
std::vector<int32_t> primer_from_piece(std::vector<int32_t> tokens, const std::vector<std::string>& vocab,
                                       int64_t max_length);

// Feeds `primer`, then samples up to `length` tokens (fewer when EOS comes: `eos` < 0 for none).
// A network on the GPU composes in one launch of the persistent kernel when it fits on chip
// (model/generator_persistent.h; its tokens then differ from the CPU's: Philox, not rng's stream).
std::vector<int32_t> compose(const MusicLSTM& net, const std::vector<int32_t>& primer, int64_t length,
                             const SamplingOptions& sampling, const std::vector<int32_t>& banned, int32_t eos,
                             std::mt19937_64& rng, const TokenListener& on_token = {});

// How long a piece is: at most `tokens` tokens; with `steps` > 0 (event scheme), until its time
// has reached that many grid steps and a note sounds until then or later, EOS forbidden before
// (`tokens` is then only a safety cap).
struct PieceLength {
  int64_t tokens = 500;
  int64_t steps = 0;
};
// Grid steps of `bars` bars of 4/4 (the event scheme keeps no metre) and of `seconds` at `tempo`
// beats per minute (0: 120), on the checkpoint's grid.
int64_t steps_of_bars(double bars);
int64_t steps_of_seconds(double seconds, double tempo);

// The grammar of an event-scheme checkpoint (of its version), or nullopt for the seed scheme.
std::optional<midi::EventGrammar> grammar_for(const CheckpointMeta& meta);

// compose() in the checkpoint's scheme. In event version 2 every sampled token obeys the grammar
// (midi/grammar.h): stepped token by token on the GPU too, since the persistent kernel takes one
// banned list per piece, not a mask per step. Version 1 and seed checkpoints are not masked (they
// compose as before the grammar); without `length.steps` they go through compose() unchanged.
// `context` (PrimerWindow::context) is fed to the grammar before the primer, not to the network.
std::vector<int32_t> compose_piece(const MusicLSTM& net, const CheckpointMeta& meta, const std::vector<int32_t>& primer,
                                   const PieceLength& length, const SamplingOptions& sampling, std::mt19937_64& rng,
                                   const TokenListener& on_token = {}, const std::vector<int32_t>& context = {});

// How compose_piece generates with `net` on its device: as device_generation()
// (model/generator_persistent.h) says, except in event version 2, which is always stepped.
std::string generation_of(const MusicLSTM& net, const CheckpointMeta& meta);

// Ensembles (event version 2). The header tokens of `instruments` (programs, -1 for drums), in the
// header's order; std::invalid_argument naming an instrument the checkpoint's vocabulary lacks.
std::vector<int32_t> ensemble_tokens(const CheckpointMeta& meta, std::vector<int> instruments);
// The ensemble of a training piece drawn at random (each piece equally likely, so each ensemble in
// proportion to its pieces); empty when the checkpoint lists none.
std::vector<int32_t> draw_ensemble(const CheckpointMeta& meta, std::mt19937_64& rng);
// The instruments named by the header at the start of `tokens` (after BOS).
std::vector<int> ensemble_of(const CheckpointMeta& meta, const std::vector<int32_t>& tokens);
// The primer of one piece started from BOS alone: in event version 2 it gets the piece's ensemble,
// `chosen` (header tokens: ensemble_tokens), or when empty that of a training piece drawn with
// rng (draw_ensemble). Any other primer is returned as it is.
std::vector<int32_t> piece_primer(const CheckpointMeta& meta, std::vector<int32_t> primer,
                                  const std::vector<int32_t>& chosen, std::mt19937_64& rng);
// The end of a piece as a primer: `tokens`, its last `seq_len` tokens (the network learnt no longer
// contexts, and windows cut from the middle of pieces, with no BOS or header in front), and, in
// event version 2 when they begin mid-piece, `context`: BOS, the piece's ensemble header and the
// program token of the instrument playing at the cut. compose_piece gives the context to the
// grammar alone, so that the music goes on in the piece's ensemble and instrument.
struct PrimerWindow {
  std::vector<int32_t> context, tokens;
};
PrimerWindow primer_window(const CheckpointMeta& meta, const std::vector<int32_t>& piece, int64_t seq_len);

// The longest run of one token repeated (the seed's users' complaint: a piece stuck on one note).
int64_t longest_run(const std::vector<int32_t>& tokens);

// The score of tokens of `scheme`, at `tempo` beats per minute (0: the tokenizer's own, 120 bpm),
// its pitched notes moved by `shift` semitones (an octave less where a note would leave 0..127),
// and with `two_hands` its piano parts split into right and left hand (midi/hands.h).
midi::Score score_of(const std::string& scheme, const std::vector<std::string>& vocab,
                     const std::vector<int32_t>& tokens, double tempo = 0, int shift = 0, bool two_hands = true);

// For a network trained in C's key signature (CheckpointMeta::keys, 12 piece counts): the shift,
// in -5..+6, from C's key signature to one drawn in proportion to the training pieces in each
// key, so that composed pieces come in the keys of the corpus. 0 (and no draw) when `keys` is empty.
int draw_key_shift(const std::vector<int64_t>& keys, std::mt19937_64& rng);
// That shift for key signature `tonic` (0..11): what composer --key moves its music by.
int key_shift_to(int tonic);

}  // namespace legato::model
