// The `seed` scheme: the tokens the Keras seed project ("Classical Piano Composer") got from
// music21, so its results can be reproduced.
#pragma once

#include "midi/tokenizer.h"

namespace legato::midi {

// Follows music21's MIDI import of the seed's era (v4/v5) step by step:
//  - per track, notes are paired FIFO (note_pairing(): read files with it) and never-released
//    notes dropped; notes starting within 1/16 quarter of a chord's first note and ending within
//    1/16 of it join that chord (even one already in an earlier chord, as music21 does), others
//    stay separate notes (midiTrackToStream);
//  - onsets are quantized to the nearest multiple of 1/4 or 1/3 quarter (Stream.quantize: the
//    smaller error wins, ties go to the value rounded up, halfway values round down);
//  - instruments come from program changes (one Part per track with notes, note-less tracks last);
//    partitionByInstrument(...).parts[0] keeps the elements of every track that begin while the
//    first instrument's program is in force there, merged by onset; with no program change at
//    all the seed falls back to all notes (midi.flat.notes);
//  - a note gives its name ("C#4"), a chord its normalOrder joined by '.' ("0.4.7", "7").
// Instruments are told apart by program number (music21 tells them apart by class name).
//
// format-0 files: music21's import (midiFileToStream -> midiTracksToStreams, in v4/v5 as in v9)
// makes one Part per track, never per channel, so a format-0 file is one Part in which every
// channel's program change opens an instrument, and the first instrument's part can be empty:
// AT.mid of the seed corpus (14 channels, 3,329 notes) gives no tokens, in music21 as here.
// `split_format0_channels` takes such a file as one track per channel instead (as its format-1
// conversion holds it), which keeps its music but departs from music21's tokens on every
// format-0 file with more than one channel; it is off by default, so the seed's tokens stay.
class SeedTokenizer final : public Tokenizer {
 public:
  explicit SeedTokenizer(const SeedOptions& options = {}) : options_(options) {}
  std::string_view scheme() const override { return "seed"; }
  NotePairing note_pairing() const override { return NotePairing::fifo; }
  std::vector<std::string> tokenize(const Score& score) const override;
  // Every token moves but drum notes; a chord of drums and pitched notes makes the piece fixed.
  TokenizedScore tokenize_for_transposition(const Score& score) const override;
  std::optional<std::string> transpose_token(std::string_view token, int semitones) const override;
  // One element every 0.5 quarter (the seed's fixed offset), each a quarter long; chords in
  // octave 4; piano (program 0) on channel 1.
  Score detokenize(std::span<const std::string> tokens) const override;

 private:
  // The tokens, and with `detail` what transposition does to each.
  std::vector<std::string> tokens_of(const Score& score, TokenizedScore* detail) const;
  SeedOptions options_;
};

}  // namespace legato::midi
