#pragma once
// --device for the programs: "cpu" always works; "cuda" needs a build with the CUDA backend and a GPU.
#include <optional>
#include <string>

#include "engine/backend.h"
#include "engine/cpu/products.h"
#include "engine/precision.h"
#include "engine/tensor.h"

namespace legato::tools {

// Returns an empty string when the device can be used, otherwise why not.
inline std::string device_problem(const std::string& device) {
  if (device == "cpu") return "";
  if (device != "cuda") return "unknown device '" + device + "' (cpu or cuda)";
  if (!legato::cuda_built())
    return "--device cuda: this build has no CUDA backend (configure with -DLEGATO_CUDA=ON where nvcc exists)";
  if (legato::cuda_device_count() == 0) return "--device cuda: no CUDA GPU found on this machine";
  return "";
}

inline legato::Device parse_device(const std::string& device) {
  return device == "cuda" ? legato::Device::CUDA : legato::Device::CPU;
}

// --precision fp32|tf32|bf16 on `device`: an empty string when the products can run at it there,
// otherwise why not. The program then hands precision_of(name) to the model it runs.
inline std::string precision_flag_problem(const std::string& name, legato::Device device) {
  const std::optional<legato::Precision> precision = legato::parse_precision(name);
  if (!precision) return "unknown precision '" + name + "' (fp32, tf32 or bf16)";
  if (const std::string problem = legato::precision_problem(*precision, device); !problem.empty())
    return "--precision " + name + ": " + problem;
  return "";
}

// The precision --precision names, once precision_flag_problem has found it known (fp32 otherwise).
inline legato::Precision precision_of(const std::string& name) {
  return legato::parse_precision(name).value_or(legato::Precision::FP32);
}

// The first line of a program's output: what the work runs on, and its products' precision.
inline std::string runs_on(legato::Device device, legato::Precision precision) {
  return device == legato::Device::CPU
             ? legato::cpu::cpu_description(precision)
             : "device: " + legato::device_description() + ", products: " + legato::to_string(precision);
}

}  // namespace legato::tools
