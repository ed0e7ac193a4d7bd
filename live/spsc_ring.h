#pragma once
// A fixed-size queue between exactly one producer thread and one consumer thread, without locks
// or allocation after construction: the real-time side (a MIDI callback, an LV2 run()) can push
// or pop without ever waiting on the other side. Full: push fails and the caller decides.
#include <array>
#include <atomic>
#include <cstddef>

namespace legato::live {

template <typename T, size_t Capacity>
class SpscRing {
  static_assert((Capacity & (Capacity - 1)) == 0, "Capacity must be a power of two");

 public:
  // Producer side. False when full (the item is not queued).
  bool push(const T& item) {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_.load(std::memory_order_acquire) == Capacity) return false;
    items_[head & (Capacity - 1)] = item;
    head_.store(head + 1, std::memory_order_release);
    return true;
  }
  // Consumer side. False when empty.
  bool pop(T& item) {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    if (head_.load(std::memory_order_acquire) == tail) return false;
    item = items_[tail & (Capacity - 1)];
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

 private:
  std::array<T, Capacity> items_{};
  // On separate cache lines: the producer writes head_, the consumer tail_.
  alignas(64) std::atomic<size_t> head_{0};
  alignas(64) std::atomic<size_t> tail_{0};
};

}  // namespace legato::live
