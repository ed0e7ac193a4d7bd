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

// What happened to the files of one path given, and the line that says it:
//   midi: DIR: 92 files read, 1 repaired (2 warnings), 1 refused (x.mid: byte 4: ...), 84235 notes kept
struct LoadSummary {
  int read = 0, repaired = 0, warnings = 0;
  int64_t notes = 0;
  std::vector<std::string> refusals;  // "x.mid: byte 4: ..."

  void add(const Score& score);  // a file read
  void refuse(const std::filesystem::path& root, const std::filesystem::path& file, const MidiError& e);
  std::string line(const std::filesystem::path& root) const;
};

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
