// The `event` scheme: note events on a time grid with durations, rests, instruments and optional
// velocities; everything the seed scheme drops.
#pragma once

#include "midi/tokenizer.h"

namespace legato::midi {

// Tokens, in time order:
//   BOS ... EOS           the piece's ends
//   I<program>... IDRUMS  right after BOS (version 2): the piece's ensemble, every instrument its
//                         notes use, drums first then programs ascending
//   T<n>                  advance the time by n grid steps (1 <= n <= max_shift_steps)
//   P<program> | DRUMS    the instrument of the notes that follow (program 0..127, channel 10)
//   V<bin>                the velocity bin of the notes that follow (only with velocity_bins > 0)
//   N<pitch> D<n>...      a note: MIDI pitch, then its duration in steps (several D tokens add up)
// Notes at one onset follow each other with no time shift, so chords keep their octaves.
// The tokens that name an instrument (program 0..127, or -1 for drums), written here once: the
// instrument of the notes that follow ("P<program>" or "DRUMS"), and its place in a piece's
// ensemble ("I<program>" or "IDRUMS").
std::string instrument_token(int instrument);
std::string ensemble_token(int instrument);

class EventTokenizer final : public Tokenizer {
 public:
  explicit EventTokenizer(EventOptions options = {});
  std::string_view scheme() const override { return options_.version >= 2 ? "event" : "event:1"; }
  std::vector<std::string> tokenize(const Score& score) const override;
  // N<pitch> tokens move, except under DRUMS: notes are sorted by (onset, instrument, pitch), and
  // moving every pitched note keeps that order, so the other tokens stay as they are.
  TokenizedScore tokenize_for_transposition(const Score& score) const override;
  std::optional<std::string> transpose_token(std::string_view token, int semitones) const override;
  // One track per instrument with its program; drums on channel 10.
  Score detokenize(std::span<const std::string> tokens) const override;
  std::vector<std::string> special_tokens() const override { return {"UNK", "BOS", "EOS"}; }

  // A note as the scheme keeps it; the order of the fields is the order of the tokens.
  struct GridNote {
    int64_t onset;   // grid steps from the start
    int instrument;  // program, or -1 for drums
    int pitch;
    int64_t duration;  // grid steps, at least 1
    int velocity_bin;  // 0 without velocity bins
    auto operator<=>(const GridNote&) const = default;
  };
  // The score's notes on the grid, in token order: what a round trip must give back.
  std::vector<GridNote> grid_notes(const Score& score) const;
  int64_t to_steps(int64_t ticks, int ticks_per_quarter) const;
  const EventOptions& options() const { return options_; }

 private:
  EventOptions options_;
};

}  // namespace legato::midi
