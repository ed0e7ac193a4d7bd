#pragma once
// What this build and this machine offer beyond the CPU. Every build has these; the CUDA
// backend itself (engine/cuda/) is compiled only where the toolkit was found.
#include <string>

namespace legato {

bool cuda_built();        // this build has the CUDA backend
int cuda_device_count();  // GPUs this process can use: 0 without one, a driver, or the backend
// Sends this process's CUDA work to GPU `index` (of cuda_device_count()): one rank per GPU, the
// rank's index on its host picking it. Before the first CUDA tensor; GPU 0 is the default.
void use_cuda_device(int index);
// "NVIDIA H100 80GB HBM3 (sm_90)" for logs and reports; "cpu" without a GPU. The products'
// precision is the caller's (engine/precision.h), not the device's.
std::string device_description();
// Waits until queued GPU work is done (timings); nothing to do on the CPU.
void synchronize_device();

}  // namespace legato
