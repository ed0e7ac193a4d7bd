// Loading many files: folders are searched, damaged files salvaged or refused, and each folder
// (or file) named says what happened in one line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "midi/reader.h"

namespace legato::midi {

// The .mid/.midi files named or found (recursively) under the given paths, each folder's
// files in name order so runs are reproducible. A path that does not exist throws.
std::vector<std::filesystem::path> find_midi_files(const std::vector<std::filesystem::path>& paths);

struct LoadedScore {
  std::filesystem::path path;
  Score score;  // score.warnings lists the repairs, if any
};

struct LoadResult {
  std::vector<LoadedScore> scores;
  int failed = 0;    // files refused
  int repaired = 0;  // files read with at least one repair
  int warnings = 0;  // repairs in all
  int64_t notes = 0;
};

// Reads every file. For each path given, one line on `log`:
//   midi: DIR: 92 files read, 1 repaired (2 warnings), 1 refused (x.mid: byte 4: ...), 84235 notes kept
// naming the reason for each refusal; `miditool info FILE` shows a file's repairs.
LoadResult load_midi_files(const std::vector<std::filesystem::path>& paths, std::ostream& log,
                           const ReadOptions& options = {});

}  // namespace legato::midi
