#pragma once
#include <cstdint>

// The part of a batch a tensor holds when ranks share a batch (data-parallel training, dist/):
// windows [first, first + local) of a batch of `global`, the batch being the dimension before the
// last ([T, B, H]; [T * B, F] as [T, B, F]; [B, F]). Dropout draws each element's mask at the
// place it has in the whole batch, so a window's mask is the same however the batch is split.
namespace legato::ops {

struct BatchSlice {
  int64_t global = 1, first = 0, local = 1;  // the default: the whole batch
  bool whole() const { return local == global; }
  // The Philox stream elements the whole batch uses for `numel` elements of this part.
  uint64_t whole_numel(int64_t numel) const {
    return static_cast<uint64_t>(numel / local) * static_cast<uint64_t>(global);
  }
};

}  // namespace legato::ops
