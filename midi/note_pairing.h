// The reader's note bookkeeping, built for speed (issue 28): a note takes its slot when its
// note-on is read, so the notes of a track are in note-on order without sorting; the notes still
// sounding are short linked lists in one pool, so pairing allocates nothing per event; and the
// score's notes are made once, merged across tracks, with their times.
#pragma once

#include <array>
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
};

// The notes of a file's tracks, in note-on order, each track a range of slots.
struct NoteSlots {
  std::vector<NoteSlot> slots;
  std::vector<size_t> track_begin;  // where each track's slots begin
  size_t ended = 0;                 // slots a note-off (or a damaged end) has ended
};

// Notes sounding, per key (channel * 128 + pitch), oldest first: one list per key, in one pool
// reused from track to track. Each entry knows its note's slot.
class OpenNotes {
 public:
  explicit OpenNotes(NotePairing pairing) : pairing_(pairing) { head_.fill(-1); }

  void push(int key, int64_t tick, uint32_t slot);
  // Ends the notes a note-off at `tick` ends, oldest first, setting their slots' lengths; counts
  // in `dropped` the zero-length notes pretty_midi's rule drops.
  void end(int key, int64_t tick, NoteSlots& notes, int& dropped);
  // Calls f(tick, slot) for every note still sounding, and forgets them.
  template <class F>
  void take_all(F&& f) {
    for (const int key : used_) {
      for (int32_t i = head_[size_t(key)]; i >= 0; i = release(i)) f(pool_[size_t(i)].tick, pool_[size_t(i)].slot);
      head_[size_t(key)] = -1;
    }
    used_.clear();
  }

 private:
  struct Entry {
    int64_t tick;
    uint32_t slot;
    int32_t next;  // the next entry of the same key, or -1
  };
  // Returns entry i to the free list and gives the entry after it.
  int32_t release(int32_t i) {
    const int32_t next = pool_[size_t(i)].next;
    pool_[size_t(i)].next = free_;
    free_ = i;
    return next;
  }

  NotePairing pairing_;
  std::vector<Entry> pool_;
  int32_t free_ = -1;
  std::array<int32_t, 16 * 128> head_, tail_;
  std::vector<int> used_;  // keys with notes sounding, to find leftovers without scanning all 2048
};

// Appends the notes of every track to score.notes, by start tick, ties in track order and then
// in note-on order, with their quarter and second fields (score.tempo_map's seconds must be set).
void assemble_notes(const NoteSlots& notes, Score& score);

}  // namespace legato::midi::detail
