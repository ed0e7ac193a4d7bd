#pragma once
// float -> bfloat16 bits, rounded to nearest even (what oneDNN's reorders and PyTorch do); NaN
// stays NaN (a quiet one) instead of rounding into infinity. One formula for the products' own
// rounding of their operands (products_onednn.cpp) and for the producers that write an operand in
// bf16 as they make it (the LSTM's cells: engine/ops/lstm.cpp).
#include <cstdint>
#include <cstring>

namespace legato::cpu {

inline uint16_t bf16_bits(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  const bool nan = (bits & 0x7fffffffu) > 0x7f800000u;
  return nan ? static_cast<uint16_t>((bits >> 16) | 0x40u)
             : static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

// The float32 value of bf16 bits (exact: bf16 is float32's upper half), for the readers of a
// cache kept in bf16 (the LSTM's gate cache at bf16: engine/ops/lstm_cells.h).
inline float bf16_value(uint16_t bits) {
  const uint32_t wide = uint32_t{bits} << 16;
  float x;
  std::memcpy(&x, &wide, sizeof x);
  return x;
}

}  // namespace legato::cpu
