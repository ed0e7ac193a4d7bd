// A CPU stand-in for the parts of the CUDA runtime and cuBLAS that the engine's CUDA backend
// calls (engine/cuda/*.cpp, kernels/lstm_sequence.cpp, kernels/gemm.cpp): "device" memory is host
// memory, a stream runs everything at once, and cublasSgemm is the column-major reference loop.
// Linked instead of libcudart and libcublas into legato_fake_device_tests, so the backend's host
// code (shapes, pointers, launch order, autograd wiring) runs in CI without a GPU. The kernels
// themselves are checked only on a GPU, by the same tests in legato_tests.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstring>

namespace {
int g_stream_object, g_handle_object;  // their addresses are the one stream and the one handle

// The fake has one device, sm_0.0, and never fails.
cudaError_t copy(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
}  // namespace

cudaError_t cudaGetLastError(void) { return cudaSuccess; }
const char* cudaGetErrorString(cudaError_t) { return "error in the CPU stand-in of the CUDA runtime"; }
cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int) {
  *prop = cudaDeviceProp{};
  std::strcpy(prop->name, "CPU stand-in of a CUDA device");
  return cudaSuccess;
}
cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  *stream = reinterpret_cast<cudaStream_t>(&g_stream_object);
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind, cudaStream_t) {
  return copy(dst, src, bytes);
}
cudaError_t cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind, cudaStream_t) {
  for (size_t row = 0; row < height; ++row)
    copy(static_cast<char*>(dst) + row * dpitch, static_cast<const char*>(src) + row * spitch, width);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t) {
  std::memset(dst, value, bytes);
  return cudaSuccess;
}

cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
  *handle = reinterpret_cast<cublasHandle_t>(&g_handle_object);
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream_v2(cublasHandle_t, cudaStream_t) { return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetMathMode(cublasHandle_t, cublasMath_t) { return CUBLAS_STATUS_SUCCESS; }
const char* cublasGetStatusString(cublasStatus_t) { return "error in the CPU stand-in of cuBLAS"; }

// Column-major C [m, n] = alpha * op(A) op(B) + beta * C, as cuBLAS defines it; beta == 0 ignores C.
cublasStatus_t cublasSgemm_v2(cublasHandle_t, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
                              const float* alpha, const float* A, int lda, const float* B, int ldb, const float* beta,
                              float* C, int ldc) {
  if (m < 0 || n < 0 || k < 0) return CUBLAS_STATUS_INVALID_VALUE;
  auto a = [&](int i, int l) { return transa == CUBLAS_OP_N ? A[i + static_cast<size_t>(l) * lda] : A[l + static_cast<size_t>(i) * lda]; };
  auto b = [&](int l, int j) { return transb == CUBLAS_OP_N ? B[l + static_cast<size_t>(j) * ldb] : B[j + static_cast<size_t>(l) * ldb]; };
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double total = 0;  // the reference sums in double: the tests' tolerances are the GPU's, not ours
      for (int l = 0; l < k; ++l) total += static_cast<double>(a(i, l)) * b(l, j);
      float& c = C[i + static_cast<size_t>(j) * ldc];
      c = static_cast<float>(*alpha * total + (*beta == 0.0f ? 0.0 : static_cast<double>(*beta) * c));
    }
  return CUBLAS_STATUS_SUCCESS;
}
