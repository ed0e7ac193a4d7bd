#pragma once
// Scores and MIDI files as token ids of a checkpoint's vocabulary: what composing needs of the
// tokenizer (primers, infilling) and what the corpus pipeline builds its pieces with.
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <unordered_map>
#include <vector>

#include "midi/reader.h"
#include "midi/score.h"
#include "midi/tokenizer.h"

namespace legato::model {

// Token strings as ids; a token the vocabulary lacks becomes `unk`, or is dropped when unk < 0.
std::vector<int32_t> encode(const std::vector<std::string>& tokens, const std::unordered_map<std::string, int32_t>& ids,
                            int32_t unk);
// Each token of `vocab` to its id.
std::unordered_map<std::string, int32_t> index_of(const std::vector<std::string>& vocab);
// UNK's id, -1 for a vocabulary without it.
int32_t unk_id(const std::unordered_map<std::string, int32_t>& ids);
// Files are read with the note pairing of the tool the scheme follows (music21's for seed).
midi::ReadOptions read_options_for(const midi::Tokenizer& tokenizer);

// Encodes MIDI files with an existing vocabulary (evaluation). Unknown tokens become UNK, or are
// dropped when the vocabulary has none. With `normalise_key`, each piece is moved to C's key
// signature first (as near as its notes allow: midi/key.h), and each piece's shift is put in `shifts`.
std::vector<std::vector<int32_t>> encode_files(const std::vector<std::filesystem::path>& paths,
                                               const std::string& scheme, const std::vector<std::string>& vocab,
                                               std::ostream& log, bool normalise_key = false,
                                               std::vector<int>* shifts = nullptr);

// One score encoded as encode_files encodes each file (the module's primers; the score read with
// the scheme's note pairing, as encode_files reads it, gives the same ids); its shift in `shift`.
std::vector<int32_t> encode_score(const midi::Score& score, const std::string& scheme,
                                  const std::vector<std::string>& vocab, bool normalise_key = false,
                                  int* shift = nullptr);

}  // namespace legato::model
