#pragma once
// A training corpus: MIDI files read (or their tokens mapped from the cache, corpus/token_store.h),
// split into training and validation pieces (by piece, so no piece leaks into both), with a
// vocabulary built from the training pieces and their transpositions. Transpositions are not
// stored: a training piece is kept once, with the range of shifts it is trained at, and a table
// gives the id of every stored token moved by every shift when batches are built.
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "corpus/corpus_reading.h"
#include "corpus/token_store.h"
#include "midi/score.h"
#include "model/checkpoint.h"

namespace legato::model {

struct CorpusOptions {
  std::vector<std::filesystem::path> paths;
  std::string scheme = "seed";
  double val_split = 0.0;  // fraction of pieces held out
  uint64_t seed = 1;       // the split
  int transpose = 0;       // training pieces also appear moved by -N..+N semitones
  // Every piece first moved to C major's key signature (midi/key.h), and transposed around it.
  bool normalise_key = false;
  int64_t min_count = 1;            // rarer tokens become UNK (schemes that have it)
  std::filesystem::path cache_dir;  // where the token cache lives; empty: none (every file is read)
  bool write_cache = true;          // false: a cache is mapped when it matches, never written
  ReadingProgress progress;         // told how reading files goes (empty: nothing is shown)
  // Tokens the vocabulary ends with when the pieces lack them (infilling's sentinels and shifts,
  // midi/infill.h), after those of the pieces, whose ids stay as without them.
  std::vector<std::string> extra_tokens;
  // Control tokens (midi/controls.h) to put in front of training windows: any of "key",
  // "density", "style" (the style of a file: the top-level folder under its path in `paths`).
  std::vector<std::string> controls;
};

// A training piece's controls at shift 0 (midi/controls.h).
struct PieceControls {
  int key = -1;     // tonic + 12 when minor (midi::Key); -1 without pitched notes
  int density = 0;  // 0 low, 1 mid, 2 high, by Corpus::density_bounds
  int style = -1;   // index into Corpus::styles
};

// A stored piece trained at every shift from lowest to highest (lowest <= 0 <= highest).
struct TrainPiece {
  uint32_t piece = 0;  // index into TokenStore::pieces
  int8_t lowest = 0, highest = 0;
  int shifts() const { return highest - lowest + 1; }
};

struct Corpus {
  std::vector<std::string> vocab;  // token strings in id order
  std::shared_ptr<const TokenStore> store;
  std::vector<TrainPiece> train;
  std::vector<std::vector<int32_t>> val;  // held-out pieces as ids (in C with normalise_key, else as written)
  std::vector<std::string> val_names;     // the held-out files' paths, as found under the paths given
  // The largest shift any piece is used at: --transpose, and up to 6 more with normalise_key.
  int max_shift = 0;
  // [2 * max_shift + 1][alphabet]: the id of stored code c moved by s is moved[(s + max_shift) * A + c];
  // -1 where no piece can need it.
  std::vector<int32_t> moved;
  // With normalise_key: how many training pieces are in each key signature (major tonic 0..11),
  // the keys composer moves its music back into. All zero otherwise.
  std::array<int64_t, 12> keys{};
  int files_loaded = 0, files_skipped = 0;
  // Control tokens (CorpusOptions::controls): their names in window order, the notes per beat
  // between the training pieces' density thirds, the styles, and each training piece's values.
  std::vector<std::string> controls;
  std::array<double, 2> density_bounds{};
  std::vector<std::string> styles;
  std::vector<PieceControls> train_controls;  // [train pieces]
  // With the style control: each style's profile (in `styles`' order), from its training pieces only.
  std::vector<StyleProfile> style_profiles;
  std::vector<int32_t> control_table;  // [train pieces][2 * max_shift + 1][controls]: control_ids()

  int64_t length(const TrainPiece& p) const { return store->pieces[p.piece].length; }
  // Token k of training piece p moved by `shift` semitones.
  int32_t id(const TrainPiece& p, int shift, int64_t k) const {
    const uint32_t code = store->code(store->pieces[p.piece].offset + static_cast<uint64_t>(k));
    return moved[static_cast<size_t>(shift + max_shift) * store->alphabet.size() + code];
  }
  // The control tokens' ids in front of a window of training piece p at `shift` (key moved with it);
  // empty without controls.
  std::vector<int32_t> control_ids(size_t train_piece, int shift) const;
  int64_t train_tokens() const;  // every transposition counted
  int64_t val_tokens() const;
};

// Throws std::runtime_error when no file could be read.
Corpus load_corpus(const CorpusOptions& options, std::ostream& log);

// The tokens of every file under the paths: mapped from the cache in options.cache_dir when it
// matches the files and options, otherwise read (in parallel, with progress) and cached.
std::shared_ptr<const TokenStore> load_token_store(const CorpusOptions& options, std::ostream& log);

// The default corpus: the free music Debian ships in openttd-openmsx.
std::filesystem::path default_corpus_path();

}  // namespace legato::model
