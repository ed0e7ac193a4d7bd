#include "live/output_queue.h"

#include <algorithm>
#include <functional>

namespace legato::live {

namespace {

bool is_off(const TimedNote& n) { return (n.bytes[0] & 0xF0) == 0x80 || n.bytes[2] == 0; }

// Heap order: the earliest on top; at one instant note-offs first (a repeated note is released
// before it sounds again), then in the order scheduled.
bool later(const TimedNote& a, const TimedNote& b) {
  if (a.seconds != b.seconds) return a.seconds > b.seconds;
  if (is_off(a) != is_off(b)) return is_off(b);
  return a.sequence > b.sequence;
}

}  // namespace

void OutputQueue::take_incoming() {
  TimedNote note;
  while (heap_size_ < kCapacity && incoming_.pop(note)) {
    if (dropped(note)) continue;
    heap_[heap_size_++] = note;
    std::push_heap(heap_.begin(), heap_.begin() + heap_size_, later);
  }
}

void OutputQueue::send(const TimedNote& note, MidiSink& out) {
  uint8_t& count = sounding_[(note.bytes[0] & 0x0F) * 128 + (note.bytes[1] & 0x7F)];
  if (is_off(note)) {
    if (count == 0) return;  // its note-on was cut, or already released
    --count;
  } else {
    ++count;
  }
  out.send(note.bytes, 3, note.seconds);
}

void OutputQueue::tick(double now, MidiSink& out) {
  if (const uint32_t cut = cut_.load(std::memory_order_acquire); cut > applied_cut_) {
    applied_cut_ = cut;
    // Notes of the cut answers leave the heap; the ones sounding stop now.
    const auto end =
        std::remove_if(heap_.begin(), heap_.begin() + heap_size_, [&](const TimedNote& n) { return dropped(n); });
    heap_size_ = static_cast<size_t>(end - heap_.begin());
    std::make_heap(heap_.begin(), heap_.begin() + heap_size_, later);
    silence(now, out);
  }
  take_incoming();
  while (heap_size_ > 0 && heap_[0].seconds <= now) {
    std::pop_heap(heap_.begin(), heap_.begin() + heap_size_, later);
    send(heap_[--heap_size_], out);
  }
  next_due_ = heap_size_ > 0 ? heap_[0].seconds : 1e300;
}

void OutputQueue::silence(double now, MidiSink& out) {
  for (size_t k = 0; k < sounding_.size(); ++k)
    for (; sounding_[k] > 0; --sounding_[k]) {
      const uint8_t off[3] = {uint8_t(0x80 | (k / 128)), uint8_t(k % 128), 0};
      out.send(off, 3, now);
    }
}

}  // namespace legato::live
