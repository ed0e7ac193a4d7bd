// The common face of the tokenizers: a score becomes a list of token strings and back.
// A Vocabulary (midi/vocabulary.h) then maps the strings to the ids the model sees.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "midi/reader.h"
#include "midi/score.h"

namespace legato::midi {

// A score's tokens with what transposing the score does to each of them, so that a corpus can
// store each piece once and move it when batches are built: tokenize(*transpose(score, s)) is
// `tokens` with every moving token t replaced by transpose_token(t, s), for every s that
// transpose() allows (tests/test_corpus_cache.cpp checks this on every scheme).
struct TokenizedScore {
  std::vector<std::string> tokens;
  std::vector<uint8_t> moves;  // per token, 1: its pitches move with the score (not a drum note)
  // false when a token mixes drums and pitched notes (a seed-scheme chord in a format-0 file):
  // no rule moves it, so the piece is not transposed at all.
  bool transposable = true;
  int lowest = 128, highest = -1;  // the range of the score's pitched notes (transpose() checks it)
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::string_view scheme() const = 0;
  virtual std::vector<std::string> tokenize(const Score& score) const = 0;
  virtual TokenizedScore tokenize_for_transposition(const Score& score) const = 0;
  // A moving token moved by `semitones`; nullopt when it holds no such token (a pitch outside 0..127).
  virtual std::optional<std::string> transpose_token(std::string_view token, int semitones) const = 0;
  // Tokens the scheme does not know are skipped, so sampled sequences always give a score.
  virtual Score detokenize(std::span<const std::string> tokens) const = 0;
  // Tokens that lead every vocabulary of this scheme (UNK, BOS, EOS for `event`).
  virtual std::vector<std::string> special_tokens() const { return {}; }
  // The note pairing of the tool whose tokens the scheme follows: read files with it.
  virtual NotePairing note_pairing() const { return NotePairing::pretty_midi; }
};

struct EventOptions {
  int steps_per_quarter = 12;   // the grid: 12 holds both sixteenths and eighth-note triplets
  int max_shift_steps = 48;     // longest single time-shift token; longer rests repeat it
  int max_duration_steps = 96;  // longest single duration token; longer notes add several
  int velocity_bins = 0;        // 0: no velocity tokens
  // Notes are held at most this long: a hung note (a note-on never released) would otherwise
  // flood the sequence with duration tokens. 64 quarters is 32 s at 120 bpm.
  int max_note_quarters = 64;
  // 2: each piece begins with its ensemble (I<program>/IDRUMS after BOS; midi/grammar.h keeps the
  // notes inside it). 1: no ensemble, as checkpoints trained before it was added were (their
  // config has no scheme_version).
  int version = 2;
};

// Options of the seed scheme (midi/tokenizer_seed.h).
struct SeedOptions {
  // Take a format-0 file as one track per channel (music21 does not; see tokenizer_seed.h).
  bool split_format0_channels = false;
};

// "seed" or "event" (the event scheme's current version), or "event:1" (its version 1, which
// checkpoints without a scheme_version use); throws std::invalid_argument for anything else.
std::unique_ptr<Tokenizer> make_tokenizer(std::string_view scheme, const EventOptions& event_options = {},
                                          const SeedOptions& seed_options = {});

// Every pitched note moved by `semitones` (drums stay); nullopt when a note would leave 0..127,
// so augmentation can simply skip that transposition.
std::optional<Score> transpose(const Score& score, int semitones);

// The lowest and highest pitch of the score's pitched (non-drum) notes, into `tokenized`.
void pitched_range(const Score& score, TokenizedScore& tokenized);

}  // namespace legato::midi
