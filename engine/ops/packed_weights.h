#pragma once
// A weight's packed copy kept across calls for as long as the weight stays as it is: the LSTM's
// recurrent product packs W_hh once per sequence, and with this once per change of the weights
// (the optimiser's step, a checkpoint's load) rather than once per batch, so that validation,
// evaluation and any run of forward passes with fixed weights pack nothing after the first.
//
// A packed copy is current while its tensor's storage has not been handed out for writing since
// it was made (Storage::writes counts every non-const data() and raw_data()), the products keep
// the same shape and the same precision; otherwise it is made again.
#include <cstdint>
#include <memory>

#include "engine/ops/gemm.h"
#include "engine/tensor.h"

namespace legato::ops::detail {

// The B operand of products c [m, n] (+)= a [m, k] · B, with b the weight: [k, n], or [n, k]
// when transposed. float32 comes from a small process-wide cache (the few most recently used
// packings); float64 reads b in place, as PackedOperand<double> does.
template <class T>
std::shared_ptr<const PackedOperand<T>> packed_weights(const Tensor& b, bool transposed, int64_t k, int64_t n,
                                                       int64_t m, bool accumulate, Precision precision);

// Packings made so far by packed_weights<float> in this process (for the tests).
uint64_t packings_made();

}  // namespace legato::ops::detail
