#pragma once
// Initialisers as Keras defines them, so the seed preset starts where the seed started.
#include <cstdint>

#include "engine/tensor.h"

namespace legato::nn {

// Glorot (Xavier) uniform for a [fan_out, fan_in] weight: U(-l, l), l = sqrt(6 / (fan_in + fan_out)).
Tensor glorot_uniform(int64_t fan_out, int64_t fan_in, uint64_t seed, DType dtype = DType::F32);

// A [rows, cols] matrix with orthonormal columns (rows >= cols) or rows, from the QR
// decomposition of a standard normal matrix with the signs fixed by R's diagonal (Keras' Orthogonal).
Tensor orthogonal(int64_t rows, int64_t cols, uint64_t seed, DType dtype = DType::F32);

}  // namespace legato::nn
