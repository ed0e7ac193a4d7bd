// The seed corpus (../shared/data/seed-midi), when this machine has it: every file loads, the
// event scheme round-trips every note, and the seed scheme's vocabulary and size are reported.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <sstream>

#include "midi/loader.h"
#include "midi/tokenizer.h"
#include "midi/tokenizer_event.h"
#include "midi/vocabulary.h"

using namespace legato::midi;

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
