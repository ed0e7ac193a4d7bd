#pragma once
// --device for the programs: "cpu" always works; "cuda" needs a build with the CUDA backend and a GPU.
#include <string>

#include "engine/backend.h"
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

}  // namespace legato::tools
