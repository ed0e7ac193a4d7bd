#include "engine/cuda/runtime.h"

#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "engine/cuda/device_allocator.h"
#include "kernels/cuda_check.h"

namespace legato::cuda {
namespace {

struct DeviceState {
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  LayerStreams layers;  // the wavefront's, created on first use
};

// The layer handles' cuBLAS workspaces, kept for the process: held from a pointer that is never
// destroyed, so that they stay reachable (LeakSanitizer) after the device states are gone.
std::vector<void*>& layer_workspaces() {
  static auto* workspaces = new std::vector<void*>();
  return *workspaces;
}

// cuBLAS's recommended workspace on Hopper (the cuBLAS guide, cublasSetWorkspace).
constexpr size_t kLayerWorkspaceBytes = 32u << 20;

std::mutex g_mutex;
// By device ordinal, created on first use; held by pointer so that a reference stays valid when
// another thread adds a device.
std::vector<std::unique_ptr<DeviceState>> g_devices;
cublasMath_t math_mode(Precision precision) {
  return precision == Precision::TF32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH;
}

}  // namespace

int device_count() {
  int count = 0;
  // No driver or no device is an answer here (zero), not an error.
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

namespace {

DeviceState& current() {
  int device = 0;
  static const int devices = device_count();  // asked once: every op comes through here
  if (devices == 0)                           // the runtime's own words here can be "driver version is insufficient"
    throw std::runtime_error("CUDA: no CUDA GPU found on this machine (cudaGetDeviceCount reports none)");
  LEGATO_CUDA_CHECK(cudaGetDevice(&device));
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_devices.size() <= static_cast<size_t>(device)) g_devices.resize(static_cast<size_t>(device) + 1);
  if (!g_devices[static_cast<size_t>(device)]) g_devices[static_cast<size_t>(device)] = std::make_unique<DeviceState>();
  DeviceState& s = *g_devices[static_cast<size_t>(device)];
  if (!s.stream) {
    // A blocking stream: it still orders itself after work someone queued on the legacy default stream.
    LEGATO_CUDA_CHECK(cudaStreamCreate(&s.stream));
    LEGATO_CUBLAS_CHECK(cublasCreate(&s.blas));
    LEGATO_CUBLAS_CHECK(cublasSetStream(s.blas, s.stream));
  }
  return s;
}

cudaMemcpyKind kind_of(Device dst, Device src) {
  if (src == Device::CPU) return dst == Device::CPU ? cudaMemcpyHostToHost : cudaMemcpyHostToDevice;
  return dst == Device::CPU ? cudaMemcpyDeviceToHost : cudaMemcpyDeviceToDevice;
}

}  // namespace

cudaStream_t stream() { return current().stream; }

cublasHandle_t blas(Precision precision) {
  cublasHandle_t handle = current().blas;  // bound to stream() when it was created
  LEGATO_CUBLAS_CHECK(cublasSetMathMode(handle, math_mode(precision)));
  return handle;
}

const LayerStreams& layer_streams(int n, Precision precision) {
  DeviceState& s = current();
  std::lock_guard<std::mutex> lock(g_mutex);
  while (static_cast<int>(s.layers.streams.size()) < n) {
    cudaStream_t stream = nullptr;
    cublasHandle_t handle = nullptr;
    void* workspace = nullptr;
    // Non-blocking: the wavefront orders them against stream() with events only.
    LEGATO_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    LEGATO_CUBLAS_CHECK(cublasCreate(&handle));
    LEGATO_CUBLAS_CHECK(cublasSetStream(handle, stream));  // resets the workspace: set it after
    LEGATO_CUDA_CHECK(cudaMalloc(&workspace, kLayerWorkspaceBytes));
    LEGATO_CUBLAS_CHECK(cublasSetWorkspace(handle, workspace, kLayerWorkspaceBytes));
    s.layers.streams.push_back(stream);
    s.layers.blas.push_back(handle);
    layer_workspaces().push_back(workspace);
  }
  for (cublasHandle_t handle : s.layers.blas) LEGATO_CUBLAS_CHECK(cublasSetMathMode(handle, math_mode(precision)));
  return s.layers;
}

void* allocate(size_t bytes) {
  current();  // the stream exists before the first block is used on it
  return device_allocate(bytes);
}

void release(void* block, size_t bytes) { device_release(block, bytes); }

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  cudaStream_t s = stream();
  LEGATO_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind_of(dst_device, src_device), s));
  // The caller may read (or free) host memory as soon as this returns.
  if (dst_device == Device::CPU || src_device == Device::CPU) LEGATO_CUDA_CHECK(cudaStreamSynchronize(s));
}

void zero_bytes(void* dst, size_t bytes) {
  if (bytes) LEGATO_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, stream()));
}

void synchronize() { LEGATO_CUDA_CHECK(cudaStreamSynchronize(stream())); }

}  // namespace legato::cuda
