// The CUDA runtime and cuBLAS, as far as Legato calls them, on the CPU: "device" memory is host
// memory, blocking streams run everything at once (a kernel launch runs to its end in the
// emulator, emulator.h), non-blocking streams queue their work (streams.cpp: streams, events and
// synchronisation), and cublasSgemm is the column-major reference loop. Linked instead of
// libcudart and libcublas into legato_emulated_gpu_tests. Like the real libraries, calls report
// errors through their status (and the runtime's last error), never by throwing.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "tests/cuda_emulator/cross_block.h"
#include "tests/cuda_emulator/emulator.h"

namespace {
cudaError_t g_last_error = cudaSuccess;

// 256 bytes, as cudaMalloc aligns.
constexpr size_t kAlignment = 256;

// A failing call is also the last error, as in the runtime.
cudaError_t status(cudaError_t s) {
  if (s != cudaSuccess) g_last_error = s;
  return s;
}

cudaError_t copy(void* dst, const void* src, size_t bytes) {
  if (bytes && (!dst || !src)) return status(cudaErrorInvalidValue);
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
}  // namespace

namespace legato::emu {
void record_error(cudaError_t s) { status(s); }
}  // namespace legato::emu

cudaError_t cudaGetLastError(void) {
  const cudaError_t last = g_last_error;
  g_last_error = cudaSuccess;
  return last;
}
// The runtime's own wording for the errors the stand-in and the emulator produce.
const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidPitchValue: return "invalid pitch argument";
    case cudaErrorCooperativeLaunchTooLarge: return "too many blocks in cooperative launch";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    default: return "unrecognized error code";
  }
}
// One device, or LEGATO_EMU_DEVICES of them (the ranks of a test on one host each take one, as on a
// node of GPUs); they all share the host's memory.
cudaError_t cudaGetDeviceCount(int* count) {
  static const int devices =
      std::max(1, std::getenv("LEGATO_EMU_DEVICES") ? std::atoi(std::getenv("LEGATO_EMU_DEVICES")) : 1);
  *count = devices;
  return cudaSuccess;
}
namespace {
int g_device = 0;  // cudaSetDevice's, for the process (the engine sets it once, before any work)
}  // namespace
cudaError_t cudaSetDevice(int device) {
  int count = 0;
  cudaGetDeviceCount(&count);
  if (device < 0 || device >= count) return status(cudaErrorInvalidDevice);
  g_device = device;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  *device = g_device;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int) {
  *prop = cudaDeviceProp{};
  std::strcpy(prop->name, "CPU emulator of a CUDA device");
  prop->multiProcessorCount = static_cast<int>(legato::emu::sms());
  prop->sharedMemPerBlock = legato::emu::kMaxSharedBytes;
  prop->sharedMemPerBlockOptin = legato::emu::kMaxSharedBytesOptIn;
  prop->maxThreadsPerBlock = static_cast<int>(legato::emu::kMaxThreadsPerBlock);
  prop->cooperativeLaunch = 1;
  return cudaSuccess;
}
// The attributes a launcher sizes a persistent kernel by: the emulated device's SMs (emulator.h:
// one block per SM in a cooperative grid), and an H100's or H200's opt-in shared memory per block.
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int) {
  if (!value) return status(cudaErrorInvalidValue);
  switch (attr) {
    case cudaDevAttrMultiProcessorCount: *value = static_cast<int>(legato::emu::sms()); break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = static_cast<int>(legato::emu::kMaxSharedBytesOptIn); break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = static_cast<int>(legato::emu::kMaxSharedBytes); break;
    case cudaDevAttrCooperativeLaunch: *value = 1; break;
    case cudaDevAttrMaxThreadsPerBlock: *value = static_cast<int>(legato::emu::kMaxThreadsPerBlock); break;
    default: return status(cudaErrorInvalidValue);
  }
  return cudaSuccess;
}
cudaError_t cudaFuncSetAttribute(const void* function, cudaFuncAttribute attr, int value) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return status(cudaErrorInvalidValue);
  return status(legato::emu::set_max_dynamic_shared(function, value));
}
cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int* blocks, const void* function, int block_size,
                                                          size_t dynamic_bytes) {
  if (!blocks || !function) return status(cudaErrorInvalidValue);
  *blocks = legato::emu::blocks_per_sm(function, block_size, dynamic_bytes);
  return cudaSuccess;
}

// Exactly the bytes asked for (at least 1, so that every block is distinct), 256-byte aligned:
// AddressSanitizer then sees a kernel's overrun of its buffer. Filled with the emulator's fill
// byte (emulator.h): a GPU's fresh memory holds whatever was there.
cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  if (!ptr) return status(cudaErrorInvalidValue);
  if (legato::emu::cross_block::enabled()) {  // pages of its own, for the check (emulator.h)
    *ptr = legato::emu::cross_block::allocate(bytes, legato::emu::fill());
    return *ptr ? cudaSuccess : status(cudaErrorMemoryAllocation);
  }
  if (posix_memalign(ptr, kAlignment, std::max<size_t>(bytes, 1)) != 0) {
    *ptr = nullptr;
    return status(cudaErrorMemoryAllocation);
  }
  std::memset(*ptr, legato::emu::fill(), std::max<size_t>(bytes, 1));
  return cudaSuccess;
}
// As in CUDA, a free waits for the device's queued work first.
cudaError_t cudaFree(void* ptr) {
  legato::emu::synchronize_all();
  if (!legato::emu::cross_block::release(ptr)) std::free(ptr);
  return cudaSuccess;
}
// Pinned, mapped host memory: the device pointer is the host pointer (one address space here).
cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned int) { return cudaMalloc(ptr, bytes); }
cudaError_t cudaHostGetDevicePointer(void** device, void* host, unsigned int flags) {
  if (!device || !host || flags != 0) return status(cudaErrorInvalidValue);
  *device = host;
  return cudaSuccess;
}
cudaError_t cudaFreeHost(void* ptr) { return cudaFree(ptr); }
// Synchronous, on the legacy stream: after the blocking streams' queued work.
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) {
  legato::emu::synchronize_legacy();
  return copy(dst, src, bytes);
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind, cudaStream_t stream) {
  if (bytes && (!dst || !src)) return status(cudaErrorInvalidValue);
  if (legato::emu::defer(stream, [=] { copy(dst, src, bytes); })) return cudaSuccess;
  return copy(dst, src, bytes);
}
cudaError_t cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind kind, cudaStream_t stream) {
  if (width > dpitch || width > spitch) return status(cudaErrorInvalidPitchValue);
  if (height && width && (!dst || !src)) return status(cudaErrorInvalidValue);
  (void)kind;
  auto rows = [=] {
    for (size_t row = 0; row < height; ++row)
      copy(static_cast<char*>(dst) + row * dpitch, static_cast<const char*>(src) + row * spitch, width);
  };
  if (!legato::emu::defer(stream, rows)) rows();
  return cudaSuccess;
}
cudaError_t cudaMemset(void* dst, int value, size_t bytes) { return cudaMemsetAsync(dst, value, bytes, nullptr); }
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream) {
  if (bytes && !dst) return status(cudaErrorInvalidValue);
  auto fill = [=] {
    if (bytes) std::memset(dst, value, bytes);
  };
  if (!legato::emu::defer(stream, fill)) fill();
  return cudaSuccess;
}

// ---- cuBLAS ---------------------------------------------------------------------------------

// A handle is the stream its calls are queued on.
struct cublasContext {
  cudaStream_t stream = nullptr;
};
namespace {
// Every live handle, owned here: one a program never destroys (the engine's live for the process)
// is freed at exit, not reported as a leak.
std::vector<std::unique_ptr<cublasContext>>& handles() {
  static std::vector<std::unique_ptr<cublasContext>> all;
  return all;
}
}  // namespace
cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
  handles().push_back(std::make_unique<cublasContext>());
  *handle = handles().back().get();
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  auto& all = handles();
  const auto it = std::find_if(all.begin(), all.end(), [&](const auto& h) { return h.get() == handle; });
  if (it == all.end()) return CUBLAS_STATUS_NOT_INITIALIZED;
  all.erase(it);
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}
// The reference loop needs no workspace; the arguments are checked as cuBLAS documents them.
cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void* workspace, size_t bytes) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (bytes && !workspace) return CUBLAS_STATUS_INVALID_VALUE;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t) {
  return handle ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_NOT_INITIALIZED;
}
const char* cublasGetStatusString(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "the operation completed successfully";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
    default: return "unknown error";
  }
}

namespace {
// cublasSgemm's argument rules, as its documentation states them: sizes not negative; leading
// dimensions at least max(1, rows) of the matrix as stored (op(A) is m x k, op(B) k x n, C m x n,
// all column-major); alpha and beta given; the matrices given where they hold any element.
cublasStatus_t check_sgemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                           int k, const float* alpha, const float* A, int lda, const float* B, int ldb,
                           const float* beta, const float* C, int ldc) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  auto op_ok = [](cublasOperation_t op) { return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C; };
  if (!op_ok(transa) || !op_ok(transb) || m < 0 || n < 0 || k < 0) return CUBLAS_STATUS_INVALID_VALUE;
  const int a_rows = transa == CUBLAS_OP_N ? m : k, b_rows = transb == CUBLAS_OP_N ? k : n;
  if (lda < std::max(1, a_rows) || ldb < std::max(1, b_rows) || ldc < std::max(1, m))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (!alpha || !beta) return CUBLAS_STATUS_INVALID_VALUE;
  const bool product = m > 0 && n > 0 && k > 0;
  if ((product && (!A || !B)) || (m > 0 && n > 0 && !C)) return CUBLAS_STATUS_INVALID_VALUE;
  return CUBLAS_STATUS_SUCCESS;
}
}  // namespace

namespace {
// Column-major C [m, n] = alpha * op(A) op(B) + beta * C, as cuBLAS defines it; beta == 0 ignores C.
void reference_sgemm(cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, float alpha,
                     const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  auto a = [&](int i, int l) {
    return transa == CUBLAS_OP_N ? A[i + static_cast<size_t>(l) * lda] : A[l + static_cast<size_t>(i) * lda];
  };
  auto b = [&](int l, int j) {
    return transb == CUBLAS_OP_N ? B[l + static_cast<size_t>(j) * ldb] : B[j + static_cast<size_t>(l) * ldb];
  };
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double total = 0;  // the reference sums in double: the tests' tolerances are the GPU's, not ours
      for (int l = 0; l < k; ++l) total += static_cast<double>(a(i, l)) * b(l, j);
      float& c = C[i + static_cast<size_t>(j) * ldc];
      c = static_cast<float>(alpha * total + (beta == 0.0f ? 0.0 : static_cast<double>(beta) * c));
    }
}
}  // namespace

cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                              int k, const float* alpha, const float* A, int lda, const float* B, int ldb,
                              const float* beta, float* C, int ldc) {
  if (const cublasStatus_t s = check_sgemm(handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
      s != CUBLAS_STATUS_SUCCESS)
    return s;
  // On a non-blocking stream the product is queued, with alpha and beta read now (host pointer mode).
  const float alpha_value = *alpha, beta_value = *beta;
  auto product = [=] { reference_sgemm(transa, transb, m, n, k, alpha_value, A, lda, B, ldb, beta_value, C, ldc); };
  if (!legato::emu::defer(handle->stream, product)) product();
  return CUBLAS_STATUS_SUCCESS;
}
