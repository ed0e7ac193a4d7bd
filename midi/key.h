#pragma once
// A piece's key signature, for training every piece in one key (trainer --normalise-key): a
// network that sees all the music in C major's scale (or A minor's, which has the same seven
// pitch classes) learns which notes belong far sooner than one that has to keep 12 keys apart,
// and composer moves what it composes back into a key the corpus uses.
#include <optional>
#include <string>
#include <string_view>

#include "midi/score.h"

namespace legato::midi {

// The major scale that holds the most pitched notes (counted as MusPy's scale_consistency counts
// them, drums left out), as its tonic's pitch class: 0 = C (or A minor) .. 11 = B (or G# minor);
// the lowest tonic on a tie; -1 without pitched notes.
int key_signature(const Score& score);

// The transposition, in -6..+5 semitones, that moves key signature `tonic` (0..11) onto C's.
int shift_to_c(int tonic);

// The same for notes from `lowest` to `highest`: as near to C's as they allow (none leaves 0..127).
int shift_to_c(int tonic, int lowest, int highest);

// The transposition that moves `score` to C's key signature, as near as its pitched notes allow;
// 0 without pitched notes. corpus/corpus.cpp does the same from a stored piece's key and range.
int shift_to_c(const Score& score);

// A key: its tonic's pitch class (0 = C .. 11 = B) and its mode. Control tokens (midi/controls.h)
// name a piece's key so that composer --key can ask for one.
struct Key {
  int tonic = 0;
  bool minor = false;
  bool operator==(const Key&) const = default;
  Key moved(int semitones) const { return {((tonic + semitones) % 12 + 12) % 12, minor}; }
};

// The piece's key: its key signature (key_signature above), then major (the signature's tonic)
// or minor (the tonic of its relative minor, 9 semitones up), whichever of the Krumhansl-Kessler
// profiles correlates better with its pitched notes' pitch classes; so the key always agrees
// with the signature that --normalise-key moves. nullopt without pitched notes.
std::optional<Key> detect_key(const Score& score);

// The key signature's major tonic (a minor key's relative major: 3 semitones up), and back.
int signature_of(const Key& key);
Key key_in(int signature, bool minor);

// "D minor", "F# major" (sharps, as MIDI tools spell them).
std::string key_name(const Key& key);
// The inverse, also with flats and short forms: "D minor", "d min", "Dm", "Bb major", "Eb", "C#m";
// nullopt when malformed.
std::optional<Key> parse_key(std::string_view text);

}  // namespace legato::midi
