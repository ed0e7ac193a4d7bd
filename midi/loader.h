// Loading many files: folders are searched, bad files are skipped with one warning line each.
#pragma once

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
  Score score;
};

struct LoadResult {
  std::vector<LoadedScore> scores;
  int failed = 0;
};

// Reads every file; each one that fails gives one "warning: ..." line on `warnings` and is
// skipped, and a final "midi: loaded N files, skipped M" line follows.
LoadResult load_midi_files(const std::vector<std::filesystem::path>& paths, std::ostream& warnings,
                           const ReadOptions& options = {});

}  // namespace legato::midi
