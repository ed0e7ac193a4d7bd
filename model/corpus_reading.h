#pragma once
// Reading MIDI files into a TokenStore, in parallel and in file order (model/corpus_reading.cpp).
#include <filesystem>
#include <memory>
#include <ostream>
#include <vector>

#include "midi/reader.h"
#include "midi/tokenizer.h"
#include "model/token_store.h"

namespace legato::model {

// files_of_root[r]: the MIDI files found under roots[r]. Bad files are refused and named in the
// store's summary lines (one per root, as midi::load_midi_files prints them); progress (files/s,
// ETA) goes to `log` while reading.
std::unique_ptr<TokenStore> read_token_store(const std::vector<std::filesystem::path>& roots,
                                             const std::vector<std::vector<std::filesystem::path>>& files_of_root,
                                             const midi::Tokenizer& tokenizer, const midi::ReadOptions& options,
                                             bool terminal, std::ostream& log);

}  // namespace legato::model
