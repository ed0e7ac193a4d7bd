#pragma once
// The part of a batch a tensor holds when ranks share a batch (data-parallel training, dist/):
// kernels/batch_slice.h, whose formulas the CPU's dropout and the GPU's kernels share.
#include "kernels/batch_slice.h"

namespace legato::ops {

using BatchSlice = kernels::BatchSlice;

}  // namespace legato::ops
