#include "midi/note_pairing.h"

#include <algorithm>
#include <functional>

namespace legato::midi::detail {

namespace {

// Two doubles that arithmetic treats lane by lane: one division instruction divides both, each
// lane rounded as its own scalar division would be (GCC's and Clang's vector extension; SSE2 on
// x86-64, NEON on ARM).
typedef double Pair __attribute__((vector_size(16)));

// Makes notes from slots with their times, by the same expressions as Score::update_times, so
// they agree to the bit. Each division pairs a quarter time with a second time (start with start,
// length with end), so a note takes two division instructions, not four. (Skipping the divisions
// of a chord's repeated start costs more than it saves: the branch cannot be predicted.)
class NoteMaker {
 public:
  explicit NoteMaker(const Score& score) : start_seconds_(score), end_seconds_(score) {
    divisors_ = Pair{double(score.ticks_per_quarter), start_seconds_.divisor()};
  }

  void make(const NoteSlot& s, int track, Note& n) {
    n.pitch = s.pitch;
    n.velocity = s.velocity;
    n.channel = s.channel;
    n.program = s.program;
    n.track = track;
    n.start_tick = s.start_tick;
    n.duration_ticks = s.duration_ticks;
    const SecondsAt::Parts start = start_seconds_.parts(n.start_tick), end = end_seconds_.parts(n.end_tick());
    const Pair q_start = Pair{double(n.start_tick), start.numerator} / divisors_;
    const Pair q_end = Pair{double(n.duration_ticks), end.numerator} / divisors_;
    n.start_quarters = q_start[0];  // Score::quarters_at
    n.duration_quarters = q_end[0];
    n.start_seconds = start.base + q_start[1];
    n.duration_seconds = (end.base + q_end[1]) - n.start_seconds;
  }

 private:
  SecondsAt start_seconds_, end_seconds_;
  Pair divisors_;  // ticks per quarter; SecondsAt's divisor
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
