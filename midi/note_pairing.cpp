#include "midi/note_pairing.h"

#include <algorithm>

namespace legato::midi::detail {

void OpenNotes::push(int key, int64_t tick, uint32_t slot) {
  int32_t i = free_;
  if (i >= 0) {
    free_ = pool_[size_t(i)].next;
    pool_[size_t(i)] = {tick, slot, -1};
  } else {
    i = int32_t(pool_.size());
    pool_.push_back({tick, slot, -1});
  }
  int32_t& head = head_[size_t(key)];
  if (head < 0) {
    head = i;
    used_.push_back(key);
  } else {
    pool_[size_t(tail_[size_t(key)])].next = i;
  }
  tail_[size_t(key)] = i;
}

void OpenNotes::end(int key, int64_t tick, NoteSlots& notes, int& dropped) {
  int32_t& head = head_[size_t(key)];
  if (head < 0) return;  // a stray note-off: nothing to end
  auto close = [&](int32_t i) {
    notes.slots[pool_[size_t(i)].slot].duration_ticks = tick - pool_[size_t(i)].tick;
    ++notes.ended;
    return release(i);
  };
  if (pairing_ == NotePairing::fifo) {
    head = close(head);
    return;
  }
  // Tracks are in time order, so a key's list rises in tick and notes of this tick are at its back.
  if (pool_[size_t(head)].tick == tick) {
    // Every note sounding began at the note-off's own tick and it ended nothing earlier: dropped.
    for (int32_t i = head; i >= 0; i = release(i)) ++dropped;
    head = -1;
    return;
  }
  // Ends every earlier note; a re-strike at the tick of the note-off sounds on.
  while (head >= 0 && pool_[size_t(head)].tick < tick) head = close(head);
}

namespace {

// Writes the note of a slot with its times.
Note make_note(const NoteSlot& s, int track, const Score& score, SecondsAt& start_seconds, SecondsAt& end_seconds) {
  Note n;
  n.pitch = s.pitch;
  n.velocity = s.velocity;
  n.channel = s.channel;
  n.program = s.program;
  n.track = track;
  n.start_tick = s.start_tick;
  n.duration_ticks = s.duration_ticks;
  // The same expressions as Score::update_times, so the times agree to the bit.
  n.start_quarters = score.quarters_at(n.start_tick);
  n.duration_quarters = double(n.duration_ticks) / score.ticks_per_quarter;
  n.start_seconds = start_seconds(n.start_tick);
  n.duration_seconds = end_seconds(n.end_tick()) - n.start_seconds;
  return n;
}

// Where a track's next note is: its slot, and the start tick the merge orders by.
struct TrackHead {
  int64_t tick;
  uint32_t track;
  size_t at, end;
};

// Moves `h` to the track's next ended slot; false when the track has no more.
bool advance(const std::vector<NoteSlot>& slots, TrackHead& h) {
  while (h.at < h.end && slots[h.at].duration_ticks < 0) ++h.at;
  if (h.at == h.end) return false;
  h.tick = slots[h.at].start_tick;
  return true;
}

}  // namespace

void assemble_notes(const NoteSlots& notes, Score& score) {
  const std::vector<NoteSlot>& slots = notes.slots;
  const size_t tracks = notes.track_begin.size();
  // A min-heap of the tracks' next notes by (start tick, track): a k-way merge of sorted tracks.
  std::vector<TrackHead> heap;
  for (size_t t = 0; t < tracks; ++t) {
    TrackHead h{0, uint32_t(t), notes.track_begin[t], t + 1 < tracks ? notes.track_begin[t + 1] : slots.size()};
    if (advance(slots, h)) heap.push_back(h);
  }
  auto later = [](const TrackHead& a, const TrackHead& b) {
    return a.tick != b.tick ? a.tick > b.tick : a.track > b.track;
  };
  std::make_heap(heap.begin(), heap.end(), later);
  score.notes.reserve(score.notes.size() + notes.ended);
  SecondsAt start_seconds(score), end_seconds(score);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    TrackHead& h = heap.back();
    // The same track goes on while its notes come first: no heap work for runs of one track.
    do {
      score.notes.push_back(make_note(slots[h.at++], int(h.track), score, start_seconds, end_seconds));
    } while (advance(slots, h) && (heap.size() == 1 || !later(h, heap.front())));
    if (h.at < h.end)
      std::push_heap(heap.begin(), heap.end(), later);
    else
      heap.pop_back();
  }
}

}  // namespace legato::midi::detail
