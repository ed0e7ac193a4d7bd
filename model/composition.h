#pragma once
// Composing a piece from a trained network: token after token with the state carried
// (model/generator.h), some tokens never sampled, stopping at EOS; and the tokens as a score.
// composer writes such pieces; the trainer composes a few to measure them against the corpus.
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "midi/score.h"
#include "model/generator.h"

namespace legato::model {

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

// The score of tokens of `scheme`, at `tempo` beats per minute (0: the tokenizer's own, 120 bpm),
// its pitched notes moved by `shift` semitones (an octave less where a note would leave 0..127),
// and with `two_hands` its piano parts split into right and left hand (midi/hands.h).
midi::Score score_of(const std::string& scheme, const std::vector<std::string>& vocab,
                     const std::vector<int32_t>& tokens, double tempo = 0, int shift = 0, bool two_hands = true);

// For a network trained in C's key signature (CheckpointMeta::keys, 12 piece counts): the shift,
// in -5..+6, from C's key signature to one drawn in proportion to the training pieces in each
// key, so that composed pieces come in the keys of the corpus. 0 (and no draw) when `keys` is empty.
int draw_key_shift(const std::vector<int64_t>& keys, std::mt19937_64& rng);

}  // namespace legato::model
