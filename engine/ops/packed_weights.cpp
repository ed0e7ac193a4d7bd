#include "engine/ops/packed_weights.h"

#include <algorithm>
#include <mutex>
#include <tuple>
#include <vector>

#include "engine/cpu/products.h"

namespace legato::ops::detail {
namespace {

// What a packing was made from; `writes` is left out: a different count makes the entry stale.
struct Key {
  uint64_t storage;
  const void* elements;  // the view's first element (two views of one storage differ here)
  bool transposed;
  int64_t k, n, m;
  bool accumulate;
  Precision precision;
  bool operator==(const Key& o) const {
    return std::tie(storage, elements, transposed, k, n, m, accumulate, precision) ==
           std::tie(o.storage, o.elements, o.transposed, o.k, o.n, o.m, o.accumulate, o.precision);
  }
};

struct Entry {
  Key key;
  uint64_t writes;
  uint64_t last_used;
  std::shared_ptr<const PackedOperand<float>> packed;
};

// A training step's layers need a forward and a backward packing each, validation's last batch
// another size: 16 entries cover the deepest networks we train with room to spare (a seed-sized
// W_hh packs into 4 MB).
constexpr size_t kEntries = 16;

struct Cache {
  std::mutex mutex;
  std::vector<Entry> entries;
  uint64_t clock = 0;
  uint64_t packings = 0;
};

// Never destroyed: the packed copies hold oneDNN objects and memory that may be gone by the time
// static destructors run at exit.
Cache& cache() {
  static Cache* c = new Cache;
  return *c;
}

}  // namespace

template <>
std::shared_ptr<const PackedOperand<double>> packed_weights<double>(const Tensor& b, bool transposed, int64_t k,
                                                                    int64_t n, int64_t m, bool accumulate,
                                                                    Precision precision) {
  return std::make_shared<const PackedOperand<double>>(b.data<double>(), transposed, k, n, m, accumulate, precision);
}

template <>
std::shared_ptr<const PackedOperand<float>> packed_weights<float>(const Tensor& b, bool transposed, int64_t k,
                                                                  int64_t n, int64_t m, bool accumulate,
                                                                  Precision precision) {
  const Key key{b.storage_id(), b.raw_data(), transposed, k, n, m, accumulate, precision};
  const uint64_t writes = b.storage_writes();
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  auto found = std::find_if(c.entries.begin(), c.entries.end(), [&](const Entry& e) { return e.key == key; });
  if (found != c.entries.end() && found->writes == writes) {
    found->last_used = ++c.clock;
    return found->packed;
  }
  // Packed under the lock: two threads asking for the same weights pack them once.
  auto packed =
      std::make_shared<const PackedOperand<float>>(b.data<float>(), transposed, k, n, m, accumulate, precision);
  ++c.packings;
  if (found == c.entries.end()) {
    if (c.entries.size() < kEntries) {
      found = c.entries.insert(c.entries.end(), Entry{key, 0, 0, nullptr});
    } else {
      found = std::min_element(c.entries.begin(), c.entries.end(),
                               [](const Entry& x, const Entry& y) { return x.last_used < y.last_used; });
      found->key = key;
    }
  }
  found->writes = writes;
  found->last_used = ++c.clock;
  found->packed = packed;
  return packed;
}

uint64_t packings_made() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.packings;
}

}  // namespace legato::ops::detail
