#pragma once
// The precision of the matrix products, one value for either device:
// - fp32: strict float32 (the default);
// - tf32: the GPU's tensor cores on float32 operands (about 10 mantissa bits in the products);
// - bf16: operands rounded to bfloat16, products accumulated and written in float32 (PyTorch's
//   CPU autocast), where the device multiplies bf16 natively.
// Everything around the products (cell state, gradients' accumulation, loss, optimiser, master
// weights) stays float32 in each. A precision is a value, never a process-wide setting: a model
// keeps its own (model::MusicLSTM::set_precision) and hands it to the ops that multiply (matmul,
// linear, lstm and their step forms), which hand it to the CPU products or to cuBLAS's math mode
// call by call, so two models at different precisions run side by side in one process.
// Header-only below precision_problem and check_precision, so that the CPU products (engine/cpu/,
// a library of their own) name the same type.
#include <optional>
#include <string>

#include "engine/tensor.h"

namespace legato {

enum class Precision { FP32, TF32, BF16 };

inline std::string to_string(Precision precision) {
  switch (precision) {
    case Precision::FP32: return "fp32";
    case Precision::TF32: return "tf32";
    case Precision::BF16: return "bf16";
  }
  return "?";
}

// "fp32", "tf32" or "bf16"; nothing for any other name.
inline std::optional<Precision> parse_precision(const std::string& name) {
  for (Precision p : {Precision::FP32, Precision::TF32, Precision::BF16})
    if (name == to_string(p)) return p;
  return std::nullopt;
}

// Why the products on `device` cannot run at `precision` on this machine, in one line that names
// no program's flag ("" when they can): tf32 only on the GPU, bf16 only on a CPU that multiplies
// it natively.
std::string precision_problem(Precision precision, Device device);

// Throws std::invalid_argument with precision_problem's line ("precision bf16: ...") when the
// products on `device` cannot run at `precision`; the owner of a precision checks it once, here.
void check_precision(Precision precision, Device device);

}  // namespace legato
