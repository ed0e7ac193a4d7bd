#pragma once
// The CUDA backend's per-process state: one stream per device that every op, copy and cuBLAS
// call of the engine is queued on (so work is ordered without synchronising), one cuBLAS handle
// per device bound to that stream, and the device side of tensor storage. Compiled only with
// the CUDA backend; engine/backend.h is the part every build has.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <vector>

#include "engine/precision.h"
#include "engine/tensor.h"

namespace legato::cuda {

// CUDA devices this process can use: 0 when there is no GPU or no driver (not an error).
int device_count();

cudaStream_t stream();  // of the current device
// The cuBLAS handle of the current device, on stream(), its math mode set for `precision` (tf32:
// TF32 tensor cores, about 10 mantissa bits in the products; otherwise strict FP32). The mode is
// the handle's and read as each call is queued, so every product asks for the handle afresh.
cublasHandle_t blas(Precision precision);

// The layer wavefront's streams (engine/cuda/lstm_wavefront.h) of the current device: at least n
// non-blocking streams, each with its own cuBLAS handle bound to it, with its own workspace (what
// the cuBLAS guide asks for bitwise-reproducible results across concurrent streams) and the math
// mode of blas(precision). Created on first use and kept for the process.
struct LayerStreams {
  std::vector<cudaStream_t> streams;
  std::vector<cublasHandle_t> blas;
};
const LayerStreams& layer_streams(int n, Precision precision);

// Storage: the caching device allocator (engine/cuda/device_allocator.h); no cudaMalloc or cudaFree
// once a training loop's shapes have been seen. Release is safe while queued work still reads the
// block: every later use of it is queued on the same stream.
void* allocate(size_t bytes);
void release(void* block, size_t bytes);

// bytes between any two devices, queued on stream(); returns once a host destination holds the data.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);
void zero_bytes(void* dst, size_t bytes);  // device memory
void synchronize();                        // waits for everything queued so far

}  // namespace legato::cuda
