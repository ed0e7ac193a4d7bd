#include "midi/note_pairing.h"

#include <algorithm>
#include <functional>

namespace legato::midi::detail {

namespace {

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
    if (n <= 3) {
      // One level below the root (most files: two hands): which track goes next is data the
      // branch predictor cannot guess, so the choice is made without a branch.
      if (n == 1) {
        keys_[0] = k;
        return;
      }
      const size_t c = 1 + size_t(n == 3 && keys_[2] < keys_[1]);
      const uint64_t m = keys_[c];
      keys_[0] = std::min(k, m);
      keys_[c] = std::max(k, m);
      return;
    }
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

// Appends slot s of `track` to the notes, with its ticks (times come after, in a loop of their
// own, where one note's divisions overlap the next's instead of waiting behind this loop).
inline void put(const NoteSlot& s, int track, std::vector<Note>& out) {
  out.push_back(Note{s.pitch, s.velocity, s.channel, s.program, track, s.start_tick, s.duration_ticks});
}

// A k-way merge of the tracks' ended slots, each track already in start order: ties go to the
// lower track.
void merge_by_heap(const std::vector<NoteSlot>& slots, std::vector<size_t>& at, const std::vector<size_t>& end,
                   std::vector<Note>& out) {
  TrackHeap heap;
  for (size_t t = 0; t < at.size(); ++t) {
    at[t] = next_ended(slots, at[t], end[t]);
    if (at[t] < end[t]) heap.push(TrackHeap::key(slots[at[t]].start_tick, t));
  }
  heap.build();
  while (!heap.empty()) {
    const size_t t = size_t(heap.top() & 0xFFFF);
    put(slots[at[t]], int(t), out);
    at[t] = next_ended(slots, at[t] + 1, end[t]);
    if (at[t] < end[t])
      heap.replace_top(TrackHeap::key(slots[at[t]].start_tick, t));
    else
      heap.pop();
  }
}

// The same for two tracks (ta < tb) whose every slot is a note (most files: two hands): which
// goes next is data the branch predictor cannot guess, so it is chosen without a branch, and the
// chain from one note to the next is two pointers in registers, not a heap in memory.
void merge_two(const NoteSlot* a, const NoteSlot* a_end, int ta, const NoteSlot* b, const NoteSlot* b_end, int tb,
               std::vector<Note>& out) {
  while (a < a_end && b < b_end) {
    const bool take_b = b->start_tick < a->start_tick;
    put(take_b ? *b : *a, take_b ? tb : ta, out);
    a += !take_b;
    b += take_b;
  }
  for (; a < a_end; ++a) put(*a, ta, out);
  for (; b < b_end; ++b) put(*b, tb, out);
}

}  // namespace

void assemble_notes(const NoteSlots& notes, Score& score) {
  const std::vector<NoteSlot>& slots = notes.slots();
  const size_t tracks = notes.track_begin().size();
  std::vector<size_t> at(tracks), end(tracks), with_slots;
  for (size_t t = 0; t < tracks; ++t) {
    at[t] = notes.track_begin()[t];
    end[t] = t + 1 < tracks ? notes.track_begin()[t + 1] : slots.size();
    if (at[t] < end[t]) with_slots.push_back(t);
  }
  score.notes.reserve(score.notes.size() + notes.ended());
  std::vector<Note>& out = score.notes;
  if (with_slots.empty()) return;
  if (with_slots.size() <= 2 && notes.ended() == slots.size()) {
    // Every slot a note, one or two tracks with any (with one, the second range is empty).
    const size_t ta = with_slots[0], tb = with_slots.size() < 2 ? ta : with_slots[1];
    const NoteSlot* base = slots.data();
    merge_two(base + at[ta], base + end[ta], int(ta), base + (ta == tb ? end[tb] : at[tb]), base + end[tb], int(tb),
              out);
    return;
  }
  merge_by_heap(slots, at, end, out);
}

}  // namespace legato::midi::detail
