#pragma once
// The shared-memory race check's bookkeeping (emulator.h, "Shared-memory races"): a shadow of every
// shared byte of the blocks running together (per byte: the barrier phase of its block it was last
// touched in, the thread that wrote it, the first two threads that read it, in that phase).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

namespace legato::emu {

class SharedRace {
 public:
  enum Region { kStatic = 0, kDynamic = 1 };
  // Two threads of `block` (linear thread indices) touched `offset` of `region` in one phase.
  struct Race {
    size_t block;
    Region region;
    size_t offset;
    uint32_t first, second;  // the earlier access's thread, the later one's
    bool two_writes;
  };

  // For `blocks` running together, each with that much static and dynamic shared memory.
  void start(size_t blocks, size_t static_bytes, size_t dynamic_bytes) {
    shadows_.clear();
    for (size_t b = 0; b < blocks; ++b) {
      shadows_.emplace_back();
      shadows_.back().push_back(zeroed(static_bytes));
      shadows_.back().push_back(zeroed(dynamic_bytes));
    }
    epoch_.assign(blocks, 1);
    race_.reset();
  }
  // The block's threads met at a barrier: what came before is ordered before what comes after.
  void barrier(size_t block) { ++epoch_[block]; }
  void access(size_t block, uint32_t thread, Region region, size_t offset, bool write) {
    Shadow& s = shadows_[block][region].get()[offset];
    if (s.epoch != epoch_[block]) s = Shadow{epoch_[block], -1, -1, -1};
    const int16_t t = static_cast<int16_t>(thread);
    if (s.writer >= 0 && s.writer != t) return found(block, region, offset, s.writer, thread, write);
    if (write) {
      const int16_t reader = s.reader != t ? s.reader : s.other;
      if (reader >= 0) return found(block, region, offset, reader, thread, false);
      s.writer = t;
    } else if (s.reader < 0) {
      s.reader = t;
    } else if (s.reader != t && s.other < 0) {
      s.other = t;
    }
  }
  const std::optional<Race>& race() const { return race_; }

 private:
  struct Shadow {
    uint32_t epoch;                 // 0: never touched (the shadow starts zeroed)
    int16_t writer, reader, other;  // threads of a block (< 1024), -1: none
  };
  struct Free {
    void operator()(Shadow* p) const { std::free(p); }
  };
  using Memory = std::unique_ptr<Shadow, Free>;

  // calloc: large shadows are zero pages until touched.
  static Memory zeroed(size_t bytes) {
    return Memory(static_cast<Shadow*>(std::calloc(bytes ? bytes : 1, sizeof(Shadow))));
  }

  void found(size_t block, Region region, size_t offset, int16_t earlier, uint32_t later, bool two_writes) {
    if (!race_) race_ = Race{block, region, offset, static_cast<uint32_t>(earlier), later, two_writes};
  }

  std::vector<std::vector<Memory>> shadows_;  // [block][region]
  std::vector<uint32_t> epoch_;
  std::optional<Race> race_;
};

}  // namespace legato::emu
