// Work handed out to threads by index, its results taken back in index order: workers ask
// next() for an index, put() its result, and one consumer take()s them 0, 1, 2, ... At most
// `capacity` results wait at once (a worker asking for an index beyond the window waits), so a
// folder of any size is read in bounded memory and the consumer's output does not depend on
// thread timing.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <vector>

namespace legato::model {

template <class Result>
class OrderedResults {
 public:
  OrderedResults(size_t items, size_t capacity) : items_(items), capacity_(capacity), slots_(capacity) {}

  // A worker's next index, or nullopt when all are taken; waits while the window is full.
  // "All taken" is asked again after the wait: two workers woken together would otherwise both
  // take an index, one of them past the last item.
  std::optional<size_t> next() {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return handed_ >= items_ || handed_ < consumed_ + capacity_; });
    if (handed_ >= items_) return std::nullopt;
    return handed_++;
  }
  void put(size_t index, Result result) {
    std::lock_guard lock(mutex_);
    slots_[index % capacity_] = std::move(result);
    ready_.notify_all();
  }
  // The result of `index`, the next in order; waits until a worker has put it.
  Result take(size_t index) {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return slots_[index % capacity_].has_value(); });
    Result out = std::move(*slots_[index % capacity_]);
    slots_[index % capacity_].reset();
    ++consumed_;
    room_.notify_all();
    return out;
  }

 private:
  const size_t items_, capacity_;
  std::vector<std::optional<Result>> slots_;
  size_t handed_ = 0, consumed_ = 0;
  std::mutex mutex_;
  std::condition_variable room_, ready_;
};

}  // namespace legato::model
