// A score as a performance: the MIDI channel messages to send and when, in seconds from the
// start, following the score's tempo map. Live playback and audio rendering both consume it.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "midi/score.h"

namespace legato::render {

struct TimedMessage {
  double seconds = 0;
  std::array<uint8_t, 3> bytes{};
  int size = 3;

  int status() const { return bytes[0] & 0xF0; }
  int channel() const { return bytes[0] & 0x0F; }
  bool is_note_on() const { return status() == 0x90 && bytes[2] > 0; }
  bool is_note_off() const { return status() == 0x80 || (status() == 0x90 && bytes[2] == 0); }
};

// At one instant note-offs go first (a repeated note is released before it sounds again), then
// program changes, then note-ons; within each kind the order of the notes in the score.
enum class MessageOrder : int { kNoteOff = 0, kProgram = 1, kNoteOn = 2 };

// Turns notes into messages, remembering each channel's program so that a program change is sent
// only when a note needs a different one (every instrument sounds with its own program, and
// channel 10 stays the drum kit). Feed it notes in any number of batches.
class Performer {
 public:
  explicit Performer(const midi::Score& timing) : timing_(timing) { programs_.fill(-1); }
  // Appends the messages of these notes to `out` (unsorted; sort_messages orders them).
  void add(std::span<const midi::Note> notes, std::vector<TimedMessage>& out);

 private:
  const midi::Score& timing_;  // the tempo map that turns ticks into seconds
  std::array<int, 16> programs_{};
};

MessageOrder order_of(const TimedMessage& message);
void sort_messages(std::vector<TimedMessage>& messages);
// Every message of the whole score, sorted.
std::vector<TimedMessage> perform(const midi::Score& score);
// When the last note ends, in seconds.
double end_seconds(const midi::Score& score);

}  // namespace legato::render
