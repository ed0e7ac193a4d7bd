// A score: what the reader makes of a MIDI file and what the writer and tokenizers consume.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "midi/error.h"

namespace legato::midi {

constexpr int kDrumChannel = 9;                   // MIDI channel 10, counted from 0
constexpr int kDefaultMicrosPerQuarter = 500000;  // 120 beats per minute until a tempo event

struct Note {
  int pitch = 60;     // 0..127
  int velocity = 64;  // 1..127
  int channel = 0;    // 0..15; kDrumChannel is percussion
  int program = 0;    // 0..127, the program in force on the channel when the note started
  int track = 0;      // index of the MTrk chunk it came from
  int64_t start_tick = 0;
  int64_t duration_ticks = 0;
  double start_quarters = 0, duration_quarters = 0;
  double start_seconds = 0, duration_seconds = 0;

  bool is_drum() const { return channel == kDrumChannel; }
  int64_t end_tick() const { return start_tick + duration_ticks; }
};

struct TempoChange {
  int64_t tick = 0;
  int micros_per_quarter = kDefaultMicrosPerQuarter;
  double seconds = 0;  // when it takes effect
  double bpm() const { return 60e6 / micros_per_quarter; }
};

struct TimeSignature {
  int64_t tick = 0;
  int numerator = 4, denominator = 4;
};

struct KeySignature {
  int64_t tick = 0;
  int sharps = 0;  // -7 (7 flats) .. 7 (7 sharps)
  bool minor = false;
};

// Kept beyond the notes' own program because music21 (and so the seed tokenizer) makes its
// instruments from these events, on whatever track and channel they appear.
struct ProgramChange {
  int64_t tick = 0;
  int track = 0, channel = 0, program = 0;
};

struct Score {
  int format = 1;
  int track_count = 0;
  // Ticks per quarter note. For SMPTE division the file counts ticks per second; we fix a
  // quarter at 0.5 s (120 bpm) so quarter-based tokenizers still see a sensible grid.
  int ticks_per_quarter = 480;
  bool smpte = false;
  int smpte_ticks_per_second = 0;

  std::vector<Note> notes;             // by start tick, then track, then order in the track
  std::vector<TempoChange> tempo_map;  // by tick; empty means 120 bpm throughout
  std::vector<TimeSignature> time_signatures;
  std::vector<KeySignature> key_signatures;
  std::vector<ProgramChange> program_changes;
  std::vector<bool> track_has_notes;  // per track
  // Per channel, the name its tracks are written with (a track name event); none by default, and
  // the reader leaves it empty.
  std::map<int, std::string> channel_names;
  int unreleased_notes = 0;  // note-ons with no note-off before their track ended: dropped
  // Note-ons ended by a note-off at their own tick: dropped under pretty_midi pairing, as there.
  int zero_length_notes = 0;
  std::vector<MidiWarning> warnings;  // the repairs the lenient reader made, in file order

  double seconds_at(int64_t tick) const;
  double quarters_at(int64_t tick) const { return double(tick) / ticks_per_quarter; }
  // Recomputes seconds in the tempo map and every note's quarter and second fields from ticks.
  void update_times();
  // Recomputes the seconds of the tempo map's changes only.
  void update_tempo_seconds();
  int64_t end_tick() const;
};

// Score::seconds_at, to the bit, for ticks asked in mostly rising order (notes by start): it
// walks the tempo map from the last answer instead of searching it every time. parts() leaves
// the division to the caller, which may do two at once.
class SecondsAt {
 public:
  explicit SecondsAt(const Score& score)
      : score_(score), divisor_(score.smpte ? score.smpte_ticks_per_second : score.ticks_per_quarter) {}

  // Score::seconds_at(tick) is base + numerator / divisor().
  struct Parts {
    double base, numerator;
  };
  Parts parts(int64_t tick) {
    if (score_.smpte) return {0, double(tick)};
    const TempoChange* c = change_at(tick);
    if (!c) return {0, double(tick) * kDefaultMicrosPerQuarter * 1e-6};
    return {c->seconds, double(tick - c->tick) * c->micros_per_quarter * 1e-6};
  }
  double divisor() const { return divisor_; }
  double operator()(int64_t tick) {
    const Parts p = parts(tick);
    return p.base + p.numerator / divisor_;
  }

 private:
  // The last tempo change at or before `tick`, or nullptr if none.
  const TempoChange* change_at(int64_t tick) {
    const auto& map = score_.tempo_map;
    // after_: how many changes lie at or before the tick last asked (upper_bound's index).
    if (after_ > 0 && map[after_ - 1].tick > tick) return search(tick);
    for (int steps = 0; after_ < map.size() && map[after_].tick <= tick; ++after_)
      if (++steps == 16) return search(tick);  // far ahead: a search is cheaper
    return after_ ? &map[after_ - 1] : nullptr;
  }
  const TempoChange* search(int64_t tick);

  const Score& score_;
  double divisor_;
  size_t after_ = 0;
};

// Sets notes' quarter and second fields from their ticks, to the bit as quarters_at and seconds_at
// would, for notes asked in start order (the tempo map's seconds must be set). One division
// instruction divides the note's four numbers (AVX; two with SSE2), each lane rounded as its own
// scalar division would be (GCC's and Clang's vector extension).
class NoteTimes {
 public:
  explicit NoteTimes(const Score& score) : start_seconds_(score), end_seconds_(score) {
    const double tpq = score.ticks_per_quarter, divisor = start_seconds_.divisor();
    divisors_ = Quad{tpq, divisor, tpq, divisor};
  }
  void set(Note& n) {
    // Starts rise and ends mostly do: each has its own walk of the tempo map.
    const SecondsAt::Parts start = start_seconds_.parts(n.start_tick), end = end_seconds_.parts(n.end_tick());
    // [start quarters, start seconds past its tempo change, duration quarters, the same for the end]
    const Quad q = Quad{double(n.start_tick), start.numerator, double(n.duration_ticks), end.numerator} / divisors_;
    n.start_quarters = q[0];  // quarters_at
    n.duration_quarters = q[2];
    n.start_seconds = start.base + q[1];  // seconds_at: base + numerator / divisor
    n.duration_seconds = (end.base + q[3]) - n.start_seconds;
  }

 private:
  typedef double Quad __attribute__((vector_size(32)));
  SecondsAt start_seconds_, end_seconds_;
  Quad divisors_;  // ticks per quarter, SecondsAt's divisor, twice
};

}  // namespace legato::midi
