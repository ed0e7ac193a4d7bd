#pragma once
// What the LSTM's time-loop region (engine/ops/lstm.cpp: forward_steps_one_region,
// backward_steps_one_region) keeps and guards around its threads:
// - RecurrentSlices: each thread's packed slice of W_hh, kept from call to call while W_hh stays as
//   it is (the version mechanism of packed_weights.h), so that validation, evaluation and any run of
//   forward passes with fixed weights pack nothing after the first;
// - RegionFailure: an exception thrown on one thread of the region (bad_alloc while packing, a
//   oneDNN error) is caught there and rethrown after the region, instead of terminating the
//   process; the threads keep hitting every barrier meanwhile, so none waits forever.
#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/cpu/products.h"
#include "engine/precision.h"
#include "engine/tensor.h"

namespace legato::ops::detail {

// The slices of W_hh [4H, H] that the threads of one region multiply by, one per thread, each
// packed by its own thread on first use (Threads::One products).
// Forward: thread's units [u0, u1): rec [B, 4·units] = h_{t-1} [B, H] · (W_hh's four gates' rows
// for its units, [4·units, H])ᵀ. Backward: rec [B, units] = dgates_t [B, 4H] · (W_hh's columns
// for its units, [4H, units]).
class RecurrentSlices {
 public:
  RecurrentSlices(const float* w_hh, bool backward, int64_t hidden, int64_t batch, Precision precision, int threads);
  ~RecurrentSlices();
  // Thread `thread`'s product for units [u0, u1), packed now if it was not (or for other units).
  // Only that thread calls it for its slot, so the slots need no lock.
  const cpu::PackedMatrix& slice(int thread, int64_t u0, int64_t u1);
  // W_hh [4H, H] has changed: every slot is packed again on its next use.
  void mark_stale(const float* w_hh);
  // Frees thread `thread`'s slot, on that thread (where its next packing will be made).
  void release(int thread);

 private:
  struct Slot;
  const float* w_hh_;
  bool backward_;
  int64_t hidden_, batch_;
  Precision precision_;
  std::vector<Slot> slots_;
};

// A RecurrentSlices lent to one region. Kept (`kept`: a forward pass that records no graph, as
// validation's and evaluation's, whose weights stay as they are from call to call): taken from a
// small process-wide cache if one was made for these weights, this shape and precision (its slots
// marked stale if the weights have changed since, so that each thread repacks its own), else made
// empty; keep() hands it back to the cache once the region has succeeded; a lease dropped without
// keep() (the region threw) discards it. While lent no other call can find it, so two regions
// never share a slot's stream. Not kept (training, whose weights change after every backward):
// made empty, and each thread releases its slot at the region's end, as it packed it.
class SlicesLease {
 public:
  SlicesLease(const Tensor& w_hh, bool backward, int64_t batch, Precision precision, int threads, bool kept);
  ~SlicesLease();
  RecurrentSlices& slices() { return *slices_; }
  // At the region's end, on each of its threads: frees the thread's slot unless the lease is kept.
  void done(int thread) noexcept;
  void keep();  // after the region, on success

 private:
  struct Key {
    uint64_t storage;
    const void* elements;
    bool backward;
    int64_t hidden, batch;
    Precision precision;
    int threads;
    bool operator==(const Key& o) const;
  };
  Key key_;
  uint64_t writes_;
  bool kept_;
  std::unique_ptr<RecurrentSlices> slices_;
};

// Slices packed so far by RecurrentSlices in this process, one per thread and region that packed
// (for the tests).
uint64_t region_packings_made();

// The first exception thrown by any thread of a parallel region, kept for after it.
class RegionFailure {
 public:
  // Runs f on this thread unless a thread has failed already; catches what it throws.
  template <class F>
  void run(F&& f) noexcept {
    if (failed_.load(std::memory_order_acquire)) return;
    try {
      f();
    } catch (...) {
      record(std::current_exception());
    }
  }
  void rethrow() const;  // after the region, on the thread that opened it

 private:
  void record(std::exception_ptr e) noexcept;
  std::atomic<bool> failed_{false};
  std::mutex mutex_;
  std::exception_ptr first_;
};

// Where the region's threads call the test hook: before packing a thread's slice, before each step.
enum class RegionPoint { Packing, Step };
// Null but in the tests, which set it to throw at a chosen point (tests/test_lstm.cpp): called by
// every thread of the region with its thread number, whether it is the backward's region, and the
// step (the first step for Packing).
using RegionHook = void (*)(RegionPoint point, bool backward, int thread, int64_t step);
extern std::atomic<RegionHook> region_test_hook;
inline void region_checkpoint(RegionPoint point, bool backward, int thread, int64_t step) {
  if (RegionHook hook = region_test_hook.load(std::memory_order_relaxed)) hook(point, backward, thread, step);
}

}  // namespace legato::ops::detail
