#pragma once
// A training corpus: MIDI files read, split into training and validation pieces (by piece, so
// no piece leaks into both), tokenized, optionally transposed for augmentation, and encoded
// with a vocabulary built from the tokens.
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "midi/score.h"

namespace legato::model {

struct CorpusOptions {
  std::vector<std::filesystem::path> paths;
  std::string scheme = "seed";
  double val_split = 0.0;  // fraction of pieces held out
  uint64_t seed = 1;       // the split
  int transpose = 0;       // training pieces also appear moved by -N..+N semitones
  int64_t min_count = 1;   // rarer tokens become UNK (schemes that have it)
};

struct Corpus {
  std::vector<std::string> vocab;  // token strings in id order
  std::vector<std::vector<int32_t>> train, val;
  std::vector<std::string> val_names;   // the held-out files, as found under the paths given
  std::vector<midi::Score> val_scores;  // the held-out pieces as read: what composed music is measured against
  int files_loaded = 0, files_skipped = 0;
  int64_t train_tokens() const;
  int64_t val_tokens() const;
};

// Throws std::runtime_error when no file could be read.
Corpus load_corpus(const CorpusOptions& options, std::ostream& log);

// Encodes MIDI files with an existing vocabulary (evaluation). Unknown tokens become UNK, or are
// dropped when the vocabulary has none.
std::vector<std::vector<int32_t>> encode_files(const std::vector<std::filesystem::path>& paths,
                                               const std::string& scheme, const std::vector<std::string>& vocab,
                                               std::ostream& log);

// The default corpus: the free music Debian ships in openttd-openmsx.
std::filesystem::path default_corpus_path();

}  // namespace legato::model
