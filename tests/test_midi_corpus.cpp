// The seed corpus (../shared/data/seed-midi), when this machine has it: every file loads, the
// event scheme round-trips every note, and the seed scheme's vocabulary and size are reported.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "midi/loader.h"
#include "midi/tokenizer.h"
#include "midi/tokenizer_event.h"
#include "midi/vocabulary.h"
#include "temp_dir.h"

using namespace legato::midi;

// find_midi_files lists as it did with path::extension() and path's operator< (what it is checked
// against here): names where a '/' and a '-' or '.' sort differently by string than by component,
// a hidden ".mid", upper case, folders named like files, and names that are not MIDI.
TEST_CASE("midi: find_midi_files keeps path order and path::extension's idea of a MIDI name") {
  namespace fs = std::filesystem;
  const fs::path dir = legato::testing::temp_dir("find_midi_files");
  for (const char* name :
       {"a-b/x.mid", "a/y.mid", "a.mid", "a.b.MID", ".mid", "..mid", "b.midi", "c.txt", "c.mid.txt", "sub.mid",
        "sub/z.mid", "sub/deeper/w.MiDi", "Z.mid", "\xc3\xa9.mid", "a b.mid", "a0.mid", "x.mid/inside.mid"}) {
    fs::create_directories((dir / name).parent_path());
    std::ofstream(dir / name) << "not read";
  }
  std::vector<fs::path> expected;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    std::string ext = entry.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    if (entry.is_regular_file() && (ext == ".mid" || ext == ".midi")) expected.push_back(entry.path());
  }
  std::sort(expected.begin(), expected.end());
  const std::vector<fs::path> found = find_midi_files({dir});
  CHECK(found.size() == 14);
  CHECK(found == expected);
  fs::remove_all(dir);
}

TEST_CASE("midi: the seed corpus loads with no failures and tokenizes") {
  const std::filesystem::path corpus = LEGATO_SEED_MIDI;
  if (!std::filesystem::is_directory(corpus)) {
    MESSAGE("SKIPPED: seed corpus not found at " << corpus.string());
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  std::ostringstream warnings;
  const auto seed = make_tokenizer("seed");
  ReadOptions options;
  options.pairing = seed->note_pairing();  // music21's, as the seed tokens need
  const LoadResult loaded = load_midi_files({corpus}, warnings, options);
  Vocabulary vocab;
  size_t notes = 0, tokens = 0;
  for (const LoadedScore& piece : loaded.scores) {
    const auto t = seed->tokenize(piece.score);
    notes += piece.score.notes.size();
    tokens += t.size();
    vocab.count(t);
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  INFO(warnings.str());
  CHECK(loaded.failed == 0);
  CHECK(loaded.repaired == 0);
  CHECK(loaded.scores.size() >= 90);
  CHECK(notes > 80000);
  CHECK(tokens > 0);
  MESSAGE("seed corpus: " << loaded.scores.size() << " files, " << notes << " notes -> " << tokens
                          << " seed tokens, vocabulary of " << vocab.most_frequent().size() << "; read + tokenize took "
                          << ms << " ms (reported, not checked)");

  // The event scheme keeps every note's pitch, onset and duration on its grid.
  const EventTokenizer event;
  size_t mismatched = 0;
  for (const LoadedScore& piece : loaded.scores) {
    const Score back = event.detokenize(event.tokenize(piece.score));
    if (event.grid_notes(back) != event.grid_notes(piece.score)) ++mismatched;
  }
  CHECK(mismatched == 0);
}
