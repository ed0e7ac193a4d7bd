#pragma once
// What a player plays, turned into event-scheme tokens while it is played. A note's tokens
// (N<pitch> D<steps>) need its duration, so a note is written once it has ended and every note
// that began before it has been written; onsets are placed on the grid as they arrive, each
// counted from the one before it, so that the timing of one note never moves another. Runs on
// the engine's thread (it allocates), not the real-time one.
#include <cstdint>
#include <vector>

#include "live/event_vocab.h"

namespace legato::live {

class PhraseTokenizer {
 public:
  // `beat_seconds`: the length of a quarter note at the tempo played; with `follow_tempo` it
  // follows the tempo the player's onsets imply instead.
  PhraseTokenizer(const EventVocab& vocab, double beat_seconds, bool follow_tempo);

  void note_on(int channel, int pitch, int velocity, double seconds);
  void note_off(int channel, int pitch, double seconds);  // a note-off of no held note is ignored
  void release_all(double seconds);                       // every held note ends now
  // Appends the tokens of every note that is final now.
  void take_tokens(std::vector<int32_t>& out);
  // Appends time shifts from the last onset to `seconds` (call once nothing is held or pending).
  void rest_until(double seconds, std::vector<int32_t>& out);
  // The token stream has gone on elsewhere (an answer): it is at grid step `step`, which was (or
  // would have been) heard at `seconds`. The next note names its instrument again.
  void sync(int64_t step, double seconds);

  // The tempo changed (a host's transport): later onsets are placed at this length of a beat.
  // Ignored while following the player's tempo.
  void set_beat_seconds(double beat_seconds);

  bool holding() const;   // notes sounding or waiting to be written
  bool sounding() const;  // keys held down
  int64_t step() const { return step_; }
  double beat_seconds() const { return beat_; }
  double step_seconds() const { return beat_ / steps_per_quarter_; }
  int lowest_held_pitch() const;  // 128 when nothing is held

 private:
  struct Pending {
    int64_t onset;  // grid step
    double start_seconds, end_seconds;
    int instrument, channel, pitch, velocity;
    bool ended;
  };
  int64_t grid_step(double seconds) const;  // on the grid, counted from the last onset
  void follow(double seconds);              // the tempo from the onsets so far
  void write(const Pending& note, std::vector<int32_t>& out);
  void shift_to(int64_t step, std::vector<int32_t>& out);

  const EventVocab* vocab_;  // a pointer, not a reference: the session copies its tokenizers to go back to them
  double beat_;
  bool follow_tempo_;
  int steps_per_quarter_;
  std::vector<Pending> pending_;             // by onset, then arrival
  std::vector<double> intervals_;            // between the player's recent onsets, for follow_tempo
  int64_t step_ = 0;                         // where the token stream is, in grid steps
  int64_t anchor_step_ = 0;                  // the grid step of the last onset...
  double anchor_seconds_ = -1;               // ...and when it was played (< 0: nothing yet)
  double last_onset_seconds_ = -1;           // the player's last onset, for follow_tempo
  int instrument_ = -2, velocity_bin_ = -1;  // as the stream last named them (-2, -1: not yet)
};

}  // namespace legato::live
