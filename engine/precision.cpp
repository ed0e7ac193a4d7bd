#include "engine/precision.h"

#include <stdexcept>

#include "engine/cpu/products.h"

namespace legato {

std::string precision_problem(Precision precision, Device device) {
  std::string why;
  if (device == Device::CPU) {
    if (precision == Precision::TF32) return "tf32 is the GPU's tensor-core mode; the CPU has none (fp32 or bf16)";
    if (precision == Precision::BF16 && !cpu::bf16_supported(&why)) return why;
    return "";
  }
  if (precision == Precision::BF16) return "the CUDA path has no bf16 products yet (tf32 is its faster mode)";
  return "";
}

void check_precision(Precision precision, Device device) {
  if (const std::string problem = precision_problem(precision, device); !problem.empty())
    throw std::invalid_argument("precision " + to_string(precision) + ": " + problem);
}

}  // namespace legato
