#pragma once
// Launcher of the dropout kernel (dropout.cu), behind engine/cuda/dropout.cpp.
// The conventions of every launcher: kernels/launch.h.
#include <cstdint>

#include "batch_slice.h"

typedef struct CUstream_st* cudaStream_t;

namespace legato::kernels {

// Where the n elements lie in the batch they are part of: windows rows.slice of the whole batch,
// `inner` elements each (the tensor's last dimension); rows.slice whole: the whole batch.
struct DropoutRows {
  BatchSlice slice;
  int64_t inner;
};

// y[i] = x[i] * mask[i]; mask[i] = dropout_scale(seed, offset, rows.slice.whole_index(i, rows.inner), p)
// (philox.h), the CPU's mask bit for bit: for the whole batch, element i of the stream at offset.
// x, y, mask: [n], n a multiple of rows.slice.local * rows.inner unless whole; y may alias x.
void dropout_launch(const float* x, float* y, float* mask, int64_t n, float p, uint64_t seed, uint64_t offset,
                    DropoutRows rows, cudaStream_t stream);

}  // namespace legato::kernels
