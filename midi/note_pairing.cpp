#include "midi/note_pairing.h"

#include <algorithm>
#include <functional>

namespace legato::midi::detail {

namespace {

// Makes notes from slots with their times, by the same expressions as Score::update_times, so
// they agree to the bit. Notes come by start, so chords share a start and often a length:
// each time is computed once per distinct tick (a division costs more than the rest of a note).
class NoteMaker {
 public:
  explicit NoteMaker(const Score& score) : score_(score), start_seconds_(score), end_seconds_(score) {}

  void make(const NoteSlot& s, int track, Note& n) {
    n.pitch = s.pitch;
    n.velocity = s.velocity;
    n.channel = s.channel;
    n.program = s.program;
    n.track = track;
    n.start_tick = s.start_tick;
    n.duration_ticks = s.duration_ticks;
    if (s.start_tick != start_tick_) {
      start_tick_ = s.start_tick;
      start_quarters_ = score_.quarters_at(start_tick_);
      start_seconds_at_ = start_seconds_(start_tick_);
    }
    if (s.duration_ticks != duration_ticks_) {
      duration_ticks_ = s.duration_ticks;
      duration_quarters_ = double(duration_ticks_) / score_.ticks_per_quarter;
    }
    if (n.end_tick() != end_tick_) {
      end_tick_ = n.end_tick();
      end_seconds_at_ = end_seconds_(end_tick_);
    }
    n.start_quarters = start_quarters_;
    n.duration_quarters = duration_quarters_;
    n.start_seconds = start_seconds_at_;
    n.duration_seconds = end_seconds_at_ - start_seconds_at_;
  }

 private:
  const Score& score_;
  SecondsAt start_seconds_, end_seconds_;
  int64_t start_tick_ = -1, duration_ticks_ = -1, end_tick_ = -1;  // ticks are never negative
  double start_quarters_ = 0, start_seconds_at_ = 0, duration_quarters_ = 0, end_seconds_at_ = 0;
};

// The next ended slot of a track from `at`, or `end`.
size_t next_ended(const std::vector<NoteSlot>& slots, size_t at, size_t end) {
  while (at < end && slots[at].duration_ticks < 0) ++at;
  return at;
}

// A min-heap of the tracks' next notes, each keyed by start tick and then track in one integer
// (ticks stay below 2^47 by kMaxQuarters, tracks below 2^16 by the header's 16 bits), so a
// comparison is one instruction. The root is replaced in place as its track moves on.
class TrackHeap {
 public:
  static uint64_t key(int64_t tick, size_t track) { return uint64_t(tick) << 16 | track; }
  void push(uint64_t k) { keys_.push_back(k); }
  void build() { std::make_heap(keys_.begin(), keys_.end(), std::greater<>()); }
  bool empty() const { return keys_.empty(); }
  uint64_t top() const { return keys_[0]; }
  void pop() {
    const uint64_t last = keys_.back();
    keys_.pop_back();
    if (!keys_.empty()) replace_top(last);
  }
  void replace_top(uint64_t k) {
    const size_t n = keys_.size();
    size_t i = 0;
    for (size_t child = 1; child < n; child = 2 * i + 1) {
      if (child + 1 < n && keys_[child + 1] < keys_[child]) ++child;
      if (k <= keys_[child]) break;
      keys_[i] = keys_[child];
      i = child;
    }
    keys_[i] = k;
  }

 private:
  std::vector<uint64_t> keys_;
};

}  // namespace

void assemble_notes(const NoteSlots& notes, Score& score) {
  const std::vector<NoteSlot>& slots = notes.slots();
  const size_t tracks = notes.track_begin().size();
  std::vector<size_t> at(tracks), end(tracks);
  TrackHeap heap;
  for (size_t t = 0; t < tracks; ++t) {
    end[t] = t + 1 < tracks ? notes.track_begin()[t + 1] : slots.size();
    at[t] = next_ended(slots, notes.track_begin()[t], end[t]);
    if (at[t] < end[t]) heap.push(TrackHeap::key(slots[at[t]].start_tick, t));
  }
  heap.build();
  score.notes.reserve(score.notes.size() + notes.ended());
  NoteMaker maker(score);
  // A k-way merge of tracks already in start order: ties go to the lower track.
  while (!heap.empty()) {
    const size_t t = size_t(heap.top() & 0xFFFF);
    maker.make(slots[at[t]], int(t), score.notes.emplace_back());
    at[t] = next_ended(slots, at[t] + 1, end[t]);
    if (at[t] < end[t])
      heap.replace_top(TrackHeap::key(slots[at[t]].start_tick, t));
    else
      heap.pop();
  }
}

}  // namespace legato::midi::detail
