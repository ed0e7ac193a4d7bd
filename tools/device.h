#pragma once
// --device: the CPU engine runs everything; "cuda" is refused with the exact reason until the
// CUDA training backend (issue 7) is wired into the engine.
#include <stdexcept>
#include <string>

#if defined(LEGATO_HAVE_CUDA)
#include "kernels/lstm_cell_cuda.h"
#endif

namespace legato::tools {

// Returns an empty string when the device can be used, otherwise why not.
inline std::string device_problem(const std::string& device) {
  if (device == "cpu") return "";
  if (device != "cuda") return "unknown device '" + device + "' (cpu or cuda)";
#if defined(LEGATO_HAVE_CUDA)
  if (legato::kernels::cuda_device_count() == 0) return "--device cuda: no CUDA GPU found on this machine";
  return "--device cuda: the CUDA backend is not part of this build's engine yet (only its kernels are); use --device cpu";
#else
  return "--device cuda: this build has no CUDA backend (configure with -DLEGATO_CUDA=ON where nvcc exists)";
#endif
}

}  // namespace legato::tools
