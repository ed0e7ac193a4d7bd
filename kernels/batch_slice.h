#pragma once
// The part of a batch a tensor holds when ranks share a batch (data-parallel training, dist/):
// windows [first, first + local) of a batch of `global`, the batch being the dimension before the
// last ([T, B, H]; [T * B, F] as [T, B, F]; [B, F]). Dropout draws each element's mask at the
// place it has in the whole batch (CPU: engine/ops/dropout.cpp; GPU: dropout.cu and the layer
// wavefront), so a window's mask is the same however the batch is split. engine/batch_slice.h
// names it ops::BatchSlice.
#include <cstdint>

#include "hd.h"

namespace legato::kernels {

struct BatchSlice {
  int64_t global = 1, first = 0, local = 1;  // the default: the whole batch
  LEGATO_HD bool whole() const { return local == global; }
  // The Philox stream elements the whole batch uses for `numel` elements of this part (a
  // multiple of local): numel itself for the whole batch.
  LEGATO_HD uint64_t whole_numel(int64_t numel) const {
    return static_cast<uint64_t>(numel / local) * static_cast<uint64_t>(global);
  }
  // Where element i of this part, rows of `inner` elements per window, lies in the whole batch
  // (i itself for the whole batch): row r's window b is window first + b of the whole's row r.
  LEGATO_HD uint64_t whole_index(uint64_t i, int64_t inner) const {
    if (whole()) return i;
    const uint64_t span = static_cast<uint64_t>(local * inner), row = i / span;
    return (row * static_cast<uint64_t>(global) + static_cast<uint64_t>(first)) * static_cast<uint64_t>(inner) +
           (i - row * span);
  }
};

}  // namespace legato::kernels
