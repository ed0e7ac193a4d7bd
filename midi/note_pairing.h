// The reader's note bookkeeping, built for speed (issue 28): a note takes its slot when its
// note-on is read, so the notes of a track are in note-on order without sorting; the notes still
// sounding are short lists linked through those slots, so pairing allocates nothing more; and the
// score's notes are made once, merged across tracks, with their times.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <vector>

#include "midi/reader.h"
#include "midi/score.h"

namespace legato::midi::detail {

// A note as its note-on made it. duration_ticks stays -1 until a note-off ends it; a slot never
// ended (dropped, unreleased) makes no note.
struct NoteSlot {
  int64_t start_tick;
  int64_t duration_ticks;
  uint8_t pitch, velocity, channel, program;
  int32_t next_sounding;  // while it sounds: the next slot of its key sounding, or -1
};

// The notes of a file's tracks, in note-on order, each track a range of slots, and the notes
// sounding: per key (channel * 128 + pitch) a list of slots, oldest first, linked through the
// slots themselves, so pairing allocates nothing but the slot.
class NoteSlots {
 public:
  // `file_bytes` sizes the slots for a typical file (a note per 10 bytes or so), so that few
  // files grow them more than once.
  NoteSlots(NotePairing pairing, size_t file_bytes) : pairing_(pairing) {
    head_.fill(-1);
    slots_.reserve(file_bytes / 8);
  }

  void begin_track() { track_begin_.push_back(slots_.size()); }
  void note_on(int channel, int pitch, int velocity, int program, int64_t tick) {
    const int key = channel * 128 + pitch;
    const int32_t s = int32_t(slots_.size());
    slots_.push_back({tick, -1, uint8_t(pitch), uint8_t(velocity), uint8_t(channel), uint8_t(program), -1});
    if (head_[size_t(key)] < 0) {
      head_[size_t(key)] = s;
      sounding_keys_[size_t(key) / 64] |= uint64_t(1) << (key % 64);
    } else {
      slots_[size_t(tail_[size_t(key)])].next_sounding = s;
    }
    tail_[size_t(key)] = s;
  }
  // Ends the notes a note-off at `tick` ends, oldest first; counts in `dropped` the zero-length
  // notes pretty_midi's rule drops.
  void note_off(int channel, int pitch, int64_t tick, int& dropped) {
    int32_t& head = head_[size_t(channel * 128 + pitch)];
    if (head < 0) return;  // a stray note-off: nothing to end
    if (pairing_ == NotePairing::fifo) {
      head = end(head, tick);
      return;
    }
    // Tracks are in time order, so a key's list rises in tick and notes of this tick are at its back.
    if (slots_[size_t(head)].start_tick == tick) {
      // Every note sounding began at the note-off's own tick and it ended nothing earlier: dropped.
      for (; head >= 0; head = slots_[size_t(head)].next_sounding) ++dropped;
      return;
    }
    // Ends every earlier note; a re-strike at the tick of the note-off sounds on.
    while (head >= 0 && slots_[size_t(head)].start_tick < tick) head = end(head, tick);
  }
  // Calls f(slot) for every note still sounding, and forgets them all.
  template <class F>
  void take_sounding(F&& f) {
    for (size_t word = 0; word < sounding_keys_.size(); ++word) {
      for (uint64_t bits = sounding_keys_[word]; bits; bits &= bits - 1) {
        const size_t key = word * 64 + size_t(std::countr_zero(bits));
        for (int32_t i = head_[key]; i >= 0; i = slots_[size_t(i)].next_sounding) f(slots_[size_t(i)]);
        head_[key] = -1;
      }
      sounding_keys_[word] = 0;
    }
  }
  // Ends a slot at `tick` (for notes a damaged end closes).
  void end_at(NoteSlot& s, int64_t tick) {
    s.duration_ticks = tick - s.start_tick;
    ++ended_;
  }

  const std::vector<NoteSlot>& slots() const { return slots_; }
  const std::vector<size_t>& track_begin() const { return track_begin_; }  // where each track's slots begin
  size_t ended() const { return ended_; }                                  // slots ended: the notes there will be

 private:
  // Ends slot s at `tick` and gives the next slot of its key.
  int32_t end(int32_t s, int64_t tick) {
    end_at(slots_[size_t(s)], tick);
    return slots_[size_t(s)].next_sounding;
  }

  NotePairing pairing_;
  std::vector<NoteSlot> slots_;
  std::vector<size_t> track_begin_;
  size_t ended_ = 0;
  std::array<int32_t, 16 * 128> head_, tail_;  // per key, the oldest and newest slot sounding
  // A bit per key that has had notes sounding since the last take_sounding: leftovers are found
  // without looking at all 2048 keys' lists.
  std::array<uint64_t, 16 * 128 / 64> sounding_keys_{};
};

// Appends the notes of every track to score.notes, by start tick, ties in track order and then
// in note-on order, with their quarter and second fields (score.tempo_map's seconds must be set).
void assemble_notes(const NoteSlots& notes, Score& score);

}  // namespace legato::midi::detail
