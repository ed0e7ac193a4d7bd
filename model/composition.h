#pragma once
// Composing a piece from a trained network: token after token with the state carried
// (model/generator.h), some tokens never sampled, stopping at EOS; and the tokens as a score.
// compose_pieces (at the end) is the one pipeline every user composes through: composer, legato-serve,
// the Python module and the trainer's music measurement.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "midi/grammar.h"
#include "midi/score.h"
#include "model/checkpoint.h"
#include "model/controls.h"
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
// `guide` (may be null; event scheme) adds its biases to every sampled token's logits.
std::vector<int32_t> compose_piece(const MusicLSTM& net, const CheckpointMeta& meta, const std::vector<int32_t>& primer,
                                   const PieceLength& length, const SamplingOptions& sampling, std::mt19937_64& rng,
                                   const TokenListener& on_token = {}, const std::vector<int32_t>& context = {},
                                   ControlGuide* guide = nullptr, double grid_strength = 0);

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

// ---- The composition pipeline: composer, legato-serve, the Python module and the trainer's music
// measurement all compose through compose_pieces, so that each policy (where the
// music starts, its key, its ensemble, what the score holds) is written here once. A new choice
// (control tokens, say) is a field of CompositionRequest, applied where each piece's start is made
// (start_of in model/composition_pipeline.cpp), so that every caller gets it; a draw it needs is made
// only when it is asked for, so that requests without it keep giving the same pieces.

// Where the music starts.
enum class PrimerSource {
  Default,  // none given: one of the checkpoint's windows (seed scheme), drawn once for all the pieces, else BOS
  Corpus,   // as Default, but piece k starts from window corpus_piece + k (cycled), not drawn: the trainer's
  Music,    // Primer::tokens encode music (a MIDI file, a score): its end leads into the new music, in its key
  Tokens,   // Primer::tokens as given (a trailing EOS dropped), taken to be in the network's own key
};
struct Primer {
  PrimerSource source = PrimerSource::Default;
  std::vector<int32_t> tokens;  // Music, Tokens: token ids (Music: encode_files' or encode_score's)
  int encoded_shift = 0;        // Music: the semitones its encoding moved it by into C (0 unless keys are)
  size_t corpus_piece = 0;      // Corpus: the first piece's window
  bool in_output = true;        // Music, Tokens: its notes begin each piece's score
};

// A MIDI file as a Music primer (composer --primer, legato-serve's uploads, Python's paths): its
// notes encoded as the checkpoint's training pieces were (in C's key where the network learnt
// there: encoded_shift), `log` told what the reading says. Its tokens are empty when the file
// cannot be read as music; the caller says so in its own words.
Primer music_primer_of_file(const std::filesystem::path& path, const CheckpointMeta& meta, std::ostream& log);
// A Tokens primer from one line of `miditool tokens` (the file's name and a tab, then the tokens;
// the name may be left out). std::invalid_argument naming the first token the checkpoint lacks.
Primer tokens_primer_of_line(const std::string& line, const CheckpointMeta& meta);
// One line of tokens as tokens_primer_of_line reads them: each id's string, space-separated, for
// composer --tokens-out (the primer, then the generated tokens).
std::string tokens_line(const std::vector<std::vector<int32_t>>& parts, const std::vector<std::string>& vocab);

// What to compose. Every random draw comes from one std::mt19937_64 seeded with `seed`, in this
// order: a Default primer's window (once); then per piece its key (unless given or the primer's),
// its ensemble (a piece from BOS in event version 2 without `ensemble`), its controls (a checkpoint
// trained with them: choose_controls, whose key replaces the key drawn) and its tokens.
struct CompositionRequest {
  Primer primer;
  PieceLength length;                // tokens, or grid steps (steps_of_bars, steps_of_seconds)
  std::optional<int> key_shift;      // semitones from the network's key to the pieces' (legato-serve's key);
                                     // else a Music primer's own key, Tokens' none, or one of the corpus's drawn
  std::vector<int32_t> ensemble;     // header tokens (ensemble_tokens) for pieces from BOS; empty: drawn
  int count = 1;                     // pieces, each from the same primer
  uint64_t seed = 0;                 // the same seed and request give the same pieces
  SamplingOptions sampling;          // how each token is drawn
  double tempo = 0;                  // the scores' beats per minute (0: the tokenizer's 120)
  bool two_hands = true;             // piano parts split into right and left hand (score_of)
  bool ensemble_before_key = false;  // the trainer's draw order (its metrics.csv stays as it was)
  ControlRequest controls;           // control tokens asked for (model/controls.h); the others drawn
  bool with_controls = false;        // composer's: control tokens read first (checkpoints trained with them);
                                     // the other callers compose without, as before controls came
  double grid_strength = 0;          // the new notes kept to the positions in the beat where the piece has
                                     // struck so far (model/onset_grid.h, RunningGrid): the doors'
                                     // grid_strength_for; 0 (off) for the trainer's measurements
};

// The grid strength a door composes `controls` with unless told otherwise: kDefaultGridStrength, or 0
// where a key or a density is asked, which stands over it (with it 71-85% of 16-bar pieces came out in
// the asked density's third against 83-88%, and 88-100% in the asked key against 96-98%;
// bench/results/quality.md, session 15).
double grid_strength_for(const ControlRequest& controls);

// One composed piece.
struct ComposedPiece {
  int index = 0;                     // 0..count-1
  std::vector<int32_t> context;      // PrimerWindow::context: names the primer's instruments, sounds nothing
  std::vector<int32_t> controls;     // the control tokens the network read first (none without them)
  std::vector<int32_t> primer;       // what the network was fed after them, before it sampled
  std::vector<int32_t> generated;    // the sampled tokens (EOS not among them)
  int shift = 0;                     // semitones from the network's key to the score's
  midi::Score score;                 // the context, the primer (a user's, Primer::in_output) and the generated
  double seconds = 0;                // time spent composing it
  std::vector<int32_t> all() const;  // context, primer and generated: ensemble_of reads its header
};

// What the caller does around each piece: `start` (may be empty) is told piece k's key shift before
// it is composed and returns the listener of its tokens (compose()'s); `done` (may be empty) gets the
// piece once composed and returns false to compose no more.
struct CompositionHooks {
  std::function<TokenListener(int index, int shift)> start;
  std::function<bool(ComposedPiece& piece)> done;
};

// Why `request` cannot be composed with `meta` (a primer of nothing but EOS, nothing to start from,
// no pieces), in a line without the caller's names; empty when it can. compose_pieces throws it
// as std::invalid_argument.
std::string composition_problem(const CheckpointMeta& meta, const CompositionRequest& request);

// Composes request.count pieces with `net` (on its device), one after another, each handed to hooks.
void compose_pieces(const MusicLSTM& net, const CheckpointMeta& meta, const CompositionRequest& request,
                    const CompositionHooks& hooks);
// The same, the pieces returned.
std::vector<ComposedPiece> compose_pieces(const MusicLSTM& net, const CheckpointMeta& meta,
                                          const CompositionRequest& request);

}  // namespace legato::model
