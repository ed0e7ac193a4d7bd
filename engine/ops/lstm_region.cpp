#include "engine/ops/lstm_region.h"

#include <algorithm>
#include <tuple>
#include <utility>

namespace legato::ops::detail {

std::atomic<RegionHook> region_test_hook{nullptr};

struct RecurrentSlices::Slot {
  int64_t u0 = -1, u1 = -1;
  std::unique_ptr<cpu::PackedMatrix> packed;
};

namespace {

std::atomic<uint64_t> packings{0};

// The calling thread's copy of its slice before packing, kept from packing to packing so that its
// pages are faulted in once.
float* slice_buffer(int64_t count) {
  thread_local std::vector<float> buffer;
  if (static_cast<int64_t>(buffer.size()) < count) buffer.resize(count);
  return buffer.data();
}

// A slice's product, packed on the calling thread. w_hh [4H, H]; units [u0, u1).
std::unique_ptr<cpu::PackedMatrix> pack_slice(const float* w_hh, bool backward, int64_t hidden, int64_t batch,
                                              Precision precision, int64_t u0, int64_t u1) {
  const int64_t units = u1 - u0, G = 4 * hidden;
  float* w = slice_buffer(G * units);
  if (backward) {  // [4H, units]: W_hh's columns for these units
    for (int64_t k = 0; k < G; ++k) std::copy(w_hh + k * hidden + u0, w_hh + k * hidden + u1, w + k * units);
    return std::make_unique<cpu::PackedMatrix>(w, false, G, units, batch, false, precision,
                                               cpu::PackedMatrix::Threads::One);
  }
  // [4·units, H]: the four gates' rows of W_hh for these units, used transposed
  for (int64_t g = 0; g < 4; ++g)
    std::copy(w_hh + (g * hidden + u0) * hidden, w_hh + (g * hidden + u1) * hidden, w + g * units * hidden);
  return std::make_unique<cpu::PackedMatrix>(w, true, hidden, 4 * units, batch, false, precision,
                                             cpu::PackedMatrix::Threads::One);
}

// Regions' slices kept for their weights: a training step's layers need a forward and a backward
// entry each, validation's last batch other sizes; 16 cover the deepest networks we train.
constexpr size_t kEntries = 16;

struct Kept {
  uint64_t writes;
  std::unique_ptr<RecurrentSlices> slices;
};

}  // namespace

RecurrentSlices::RecurrentSlices(const float* w_hh, bool backward, int64_t hidden, int64_t batch, Precision precision,
                                 int threads)
    : w_hh_(w_hh), backward_(backward), hidden_(hidden), batch_(batch), precision_(precision), slots_(threads) {}

RecurrentSlices::~RecurrentSlices() = default;

const cpu::PackedMatrix& RecurrentSlices::slice(int thread, int64_t u0, int64_t u1) {
  Slot& s = slots_.at(thread);
  if (!s.packed || s.u0 != u0 || s.u1 != u1) {
    s.packed.reset();  // a slot whose packing throws stays empty
    s.packed = pack_slice(w_hh_, backward_, hidden_, batch_, precision_, u0, u1);
    s.u0 = u0;
    s.u1 = u1;
    packings.fetch_add(1, std::memory_order_relaxed);
  }
  return *s.packed;
}

void RecurrentSlices::mark_stale(const float* w_hh) {
  w_hh_ = w_hh;
  for (Slot& s : slots_) s.u0 = s.u1 = -1;
}

void RecurrentSlices::release(int thread) {
  Slot& s = slots_.at(thread);
  s.packed.reset();
  s.u0 = s.u1 = -1;
}

bool SlicesLease::Key::operator==(const Key& o) const {
  return std::tie(storage, elements, backward, hidden, batch, precision, threads) ==
         std::tie(o.storage, o.elements, o.backward, o.hidden, o.batch, o.precision, o.threads);
}

namespace {

// Never destroyed: the packed slices hold oneDNN objects that may be gone by the time static
// destructors run at exit (as packed_weights.cpp's cache).
template <class Key>
struct Entries {
  std::mutex mutex;
  std::vector<std::pair<Key, Kept>> entries;  // the least recently kept first
};
template <class Key>
Entries<Key>& entries() {
  static auto* e = new Entries<Key>;
  return *e;
}

}  // namespace

SlicesLease::SlicesLease(const Tensor& w_hh, bool backward, int64_t batch, Precision precision, int threads, bool kept)
    : key_{w_hh.storage_id(), w_hh.raw_data(), backward, w_hh.dim(1), batch, precision, threads},
      writes_(w_hh.storage_writes()),
      kept_(kept) {
  auto& e = entries<Key>();
  if (kept_) {
    std::lock_guard<std::mutex> lock(e.mutex);
    auto found = std::find_if(e.entries.begin(), e.entries.end(), [&](const auto& k) { return k.first == key_; });
    if (found != e.entries.end()) {
      slices_ = std::move(found->second.slices);
      // Stale: each slot is packed again by its own thread, which frees the old packing there
      // first, so that the thread's freed blocks serve its next packing (destroyed here, on this
      // thread, they would leave the other threads to fault in fresh pages every step).
      if (found->second.writes != writes_) slices_->mark_stale(w_hh.data<float>());
      e.entries.erase(found);  // lent now
    }
  }
  if (!slices_)
    slices_ = std::make_unique<RecurrentSlices>(w_hh.data<float>(), backward, w_hh.dim(1), batch, precision, threads);
}

SlicesLease::~SlicesLease() = default;

void SlicesLease::done(int thread) noexcept {
  if (!kept_) slices_->release(thread);
}

void SlicesLease::keep() {
  if (!kept_) return;
  auto& e = entries<Key>();
  std::lock_guard<std::mutex> lock(e.mutex);
  if (e.entries.size() >= kEntries) e.entries.erase(e.entries.begin());
  e.entries.push_back({key_, Kept{writes_, std::move(slices_)}});
}

uint64_t region_packings_made() { return packings.load(std::memory_order_relaxed); }

void RegionFailure::record(std::exception_ptr e) noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!first_) first_ = std::move(e);
  failed_.store(true, std::memory_order_release);
}

void RegionFailure::rethrow() const {
  if (first_) std::rethrow_exception(first_);
}

}  // namespace legato::ops::detail
