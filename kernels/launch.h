#pragma once
// Every kernel launch goes through LEGATO_LAUNCH, so that one line compiles with nvcc (the real
// <<<...>>> launch) and with g++ against the CPU emulator of the kernels (tests/cuda_emulator/,
// which runs the very same __global__ functions), and so that every launch is checked the same
// way: a failure names the kernel and its geometry, with the runtime's own message.
//
//   LEGATO_LAUNCH(kernel, grid, block, shared_bytes, stream, args...);
//   LEGATO_LAUNCH_COOPERATIVE(kernel, grid, block, shared_bytes, stream, args...);  // grid.sync()
//
// grid and block are anything dim3 takes (an int, or dim3(x, y, z)).
//
// Each kernels/<op>.cu has its launchers declared in kernels/<op>.h, beside the per-element bodies
// it shares with the CPU, named as the engine's op (engine/ops/<op>.cpp, engine/cuda/<op>.cpp).
// Every launcher takes float32, row-major arrays in device memory owned by the caller and checks
// its launch; "+=" in a comment means it accumulates into its output (autograd's convention). The
// launchers' declarations need no CUDA header (cudaStream_t is declared opaque), so host code and
// the CPU build include them.
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>

namespace legato::kernels {

inline std::string launch_geometry(const char* kernel, dim3 grid, dim3 block, size_t shared_bytes) {
  char text[256];
  std::snprintf(text, sizeof text, " with grid (%u, %u, %u), block (%u, %u, %u), %zu bytes of dynamic shared memory",
                grid.x, grid.y, grid.z, block.x, block.y, block.z, shared_bytes);
  return kernel + std::string(text);
}

// After a launch: its error now (a bad geometry, say), not at the next unrelated call.
inline void check_launch(const char* kernel, dim3 grid, dim3 block, size_t shared_bytes, const char* file, int line) {
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess)
    throw std::runtime_error("launch of " + launch_geometry(kernel, grid, block, shared_bytes) + " failed at " + file +
                             ":" + std::to_string(line) + ": " + cudaGetErrorString(status));
}

#if defined(__CUDACC__)
// cudaLaunchCooperativeKernel takes the arguments as an array of pointers to each parameter.
template <class... Params, class... Args>
void launch_cooperative(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream,
                        Args&&... args) {
  std::tuple<std::decay_t<Params>...> params(std::forward<Args>(args)...);
  std::apply(
      [&](auto&... p) {
        void* pointers[] = {static_cast<void*>(&p)..., nullptr};
        // A failed launch is also the runtime's last error, which check_launch reads.
        (void)cudaLaunchCooperativeKernel(reinterpret_cast<void*>(kernel), grid, block, pointers, shared_bytes, stream);
      },
      params);
}
#endif

}  // namespace legato::kernels

#if defined(__CUDACC__)
#define LEGATO_LAUNCH(kernel, grid, block, shared_bytes, stream, ...)                                      \
  do {                                                                                                     \
    kernel<<<(grid), (block), (shared_bytes), (stream)>>>(__VA_ARGS__);                                    \
    ::legato::kernels::check_launch(#kernel, dim3(grid), dim3(block), (shared_bytes), __FILE__, __LINE__); \
  } while (0)
#define LEGATO_LAUNCH_COOPERATIVE(kernel, grid, block, shared_bytes, stream, ...)                          \
  do {                                                                                                     \
    ::legato::kernels::launch_cooperative(kernel, dim3(grid), dim3(block), (shared_bytes),                 \
                                          (stream)__VA_OPT__(, ) __VA_ARGS__);                             \
    ::legato::kernels::check_launch(#kernel, dim3(grid), dim3(block), (shared_bytes), __FILE__, __LINE__); \
  } while (0)
#elif defined(LEGATO_CUDA_EMULATOR)
// The emulator runs the kernel to its end on the calling thread (tests/cuda_emulator/emulator.h).
#define LEGATO_EMU_LAUNCH_(cooperative, kernel, grid, block, shared_bytes, stream, ...)                    \
  do {                                                                                                     \
    ::legato::emu::launch(#kernel, LEGATO_EMU_UNIT_SHARED, cooperative, kernel, dim3(grid), dim3(block),   \
                          (shared_bytes), (stream)__VA_OPT__(, ) __VA_ARGS__);                             \
    ::legato::kernels::check_launch(#kernel, dim3(grid), dim3(block), (shared_bytes), __FILE__, __LINE__); \
  } while (0)
#define LEGATO_LAUNCH(kernel, ...) LEGATO_EMU_LAUNCH_(false, kernel, __VA_ARGS__)
#define LEGATO_LAUNCH_COOPERATIVE(kernel, ...) LEGATO_EMU_LAUNCH_(true, kernel, __VA_ARGS__)
#else
#error "kernels/*.cu compile with nvcc, or as C++ with tests/cuda_emulator/cuda_emulator.h included first"
#endif
