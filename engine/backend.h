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
// "NVIDIA H100 80GB HBM3 (sm_90), TF32 off" for logs and reports; "cpu" without a GPU.
std::string device_description();
// cuBLAS's TF32 tensor-core math for float32 products (opt-in: Precision::TF32 through use_precision,
// engine/precision.h). Off by default:
// strict FP32. No effect without the CUDA backend.
void set_cuda_tf32(bool enabled);
// Waits until queued GPU work is done (timings); nothing to do on the CPU.
void synchronize_device();

}  // namespace legato
