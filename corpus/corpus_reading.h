#pragma once
// Reading MIDI files into a TokenStore, in parallel and in file order (corpus/corpus_reading.cpp).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "corpus/token_store.h"
#include "midi/reader.h"
#include "midi/tokenizer.h"

namespace legato::model {

// How reading reports its progress: `done` files of `total`, with a status such as "812 files/s";
// called with done 0 before the first file and done == total after the last. A callback, so that
// corpus/ draws nothing itself and needs nothing from train/ (whose bar the trainer passes).
using ReadingProgress = std::function<void(int64_t done, int64_t total, const std::string& status)>;

// files_of_root[r]: the MIDI files found under roots[r]. Bad files are refused and named in the
// store's summary lines (one per root, as midi::load_midi_files prints them); folders of 200 files
// or more report to `progress` (when set) while reading.
std::unique_ptr<TokenStore> read_token_store(const std::vector<std::filesystem::path>& roots,
                                             const std::vector<std::vector<std::filesystem::path>>& files_of_root,
                                             const midi::Tokenizer& tokenizer, const midi::ReadOptions& options,
                                             const ReadingProgress& progress);

}  // namespace legato::model
