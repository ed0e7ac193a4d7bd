#pragma once
// The timed queue between the engine's thread, which schedules an answer's notes as fast as the
// network writes them, and the real-time side, which sends each when it is due. Lock-free: the
// real-time side never waits, and once built nothing here allocates.
#include <array>
#include <atomic>
#include <bitset>
#include <cstdint>

#include "live/midi_sink.h"
#include "live/spsc_ring.h"

namespace legato::live {

struct TimedNote {
  double seconds = 0;     // when to send it, on the real-time side's clock
  uint32_t answer = 0;    // which answer it belongs to (cut() drops an answer's remaining notes)
  uint8_t bytes[3] = {};  // a note-on or note-off
  uint64_t sequence = 0;  // set by schedule(): notes due at one instant go out in the order scheduled
};

class OutputQueue {
 public:
  // Engine side. False when the queue is full (the note is lost: the engine runs at most a few
  // seconds ahead, far below the capacity).
  bool schedule(TimedNote note) {
    note.sequence = scheduled_++;
    return incoming_.push(note);
  }

  // Any thread: every note of answers up to `answer` is dropped, and the notes of them that sound
  // get their note-offs at the next tick().
  void cut(uint32_t answer) {
    uint32_t seen = cut_.load(std::memory_order_relaxed);
    while (answer > seen && !cut_.compare_exchange_weak(seen, answer)) {
    }
  }

  // Real-time side: sends (in time order, note-offs first at one instant) every message due by
  // `now`, and the note-offs of a cut answer.
  void tick(double now, MidiSink& out);
  // Real-time side: note-offs for every note still sounding, and nothing more is sent until new
  // notes are scheduled (Ctrl-C, a plugin deactivated).
  void silence(double now, MidiSink& out);
  // The earliest time a queued message is due (+inf: none), for a sender that sleeps until then.
  double next_due() const { return next_due_; }

 private:
  static constexpr size_t kCapacity = 4096;
  void take_incoming();
  bool dropped(const TimedNote& note) const { return note.answer <= applied_cut_; }
  void send(const TimedNote& note, MidiSink& out);

  SpscRing<TimedNote, kCapacity> incoming_;
  uint64_t scheduled_ = 0;  // the engine side's
  std::atomic<uint32_t> cut_{0};
  // The real-time side's own: a binary min-heap of the notes waiting for their time.
  std::array<TimedNote, kCapacity> heap_{};
  size_t heap_size_ = 0;
  uint32_t applied_cut_ = 0;
  double next_due_ = 1e300;
  std::array<uint8_t, 16 * 128> sounding_{};  // note-ons not yet followed by their note-off
};

}  // namespace legato::live
