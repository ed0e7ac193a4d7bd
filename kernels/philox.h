#pragma once
// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator, so element i's random number depends only on (seed, i) and a dropout
// mask is the same on every device and in every thread layout.
#include <cstdint>

#include "hd.h"

namespace legato::kernels {

struct Philox4 {
  uint32_t v[4];
};

LEGATO_HD uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t* hi) {
  const uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

// Four 32-bit random words for a 128-bit counter and a 64-bit key (k0, k1).
LEGATO_HD Philox4 philox4x32_10(Philox4 counter, uint32_t k0, uint32_t k1) {
  uint32_t c0 = counter.v[0], c1 = counter.v[1], c2 = counter.v[2], c3 = counter.v[3];
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, hi1;
    const uint32_t lo0 = mulhilo32(0xD2511F53u, c0, &hi0);
    const uint32_t lo1 = mulhilo32(0xCD9E8D57u, c2, &hi1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u;  // the golden-ratio Weyl key schedule of the paper
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// The stream we use: counter (counter_lo, counter_hi, 0, 0), key = seed.
LEGATO_HD Philox4 philox4x32_10(uint64_t counter, uint64_t seed) {
  return philox4x32_10(Philox4{{static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32), 0u, 0u}},
                       static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// One random word as a uniform in [0, 1): the top 24 bits, exact in float.
LEGATO_HD float uniform_from_word(uint32_t word) { return static_cast<float>(word >> 8) * (1.0f / 16777216.0f); }

// Uniform in [0, 1) for flat element `index` of the stream `(seed, offset)`: four elements share
// one Philox call (counter = (offset + index) / 4), lane = (offset + index) % 4.
LEGATO_HD float philox_uniform(uint64_t seed, uint64_t offset, uint64_t index) {
  const uint64_t flat = offset + index;
  return uniform_from_word(philox4x32_10(flat >> 2, seed).v[flat & 3]);
}

// Dropout's multiplier for an element with uniform u: kept elements are divided by (1 - p) so
// the expected activation is unchanged and evaluation needs no rescaling.
// The CPU keeps only whether each element was kept (a byte, not the multiplier: a quarter of
// the float mask's memory traffic) and makes its multiplier again in the backward.
template <class T>
LEGATO_HD bool dropout_keeps(float u, T p) {
  return u >= static_cast<float>(p);
}
template <class T>
LEGATO_HD T dropout_kept_multiplier(bool kept, T p) {
  return kept ? T(1) / (T(1) - p) : T(0);
}
template <class T>
LEGATO_HD T dropout_multiplier(float u, T p) {
  return dropout_kept_multiplier(dropout_keeps(u, p), p);
}

template <class T>
LEGATO_HD T dropout_scale(uint64_t seed, uint64_t offset, uint64_t index, T p) {
  return dropout_multiplier(philox_uniform(seed, offset, index), p);
}

}  // namespace legato::kernels
