// CUDA kernels against the CPU float64 result. Skipped, with a visible message, where the build
// has no CUDA or the machine has no GPU.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "engine/ops/lstm.h"
#include "engine/tensor.h"

#if defined(LEGATO_HAVE_CUDA)
#include <cuda_runtime.h>

#include "kernels/cuda_check.h"
#include "kernels/lstm_cell.h"
#include "kernels/lstm_cell_cuda.h"
#endif

using namespace legato;

namespace {
bool gpu_available() {
#if defined(LEGATO_HAVE_CUDA)
  return legato::kernels::cuda_device_count() > 0;
#else
  return false;
#endif
}
}  // namespace

#if defined(LEGATO_HAVE_CUDA)
namespace {

struct DeviceBuffer {
  float* ptr = nullptr;
  explicit DeviceBuffer(const std::vector<float>& host) {
    LEGATO_CUDA_CHECK(cudaMalloc(&ptr, host.size() * sizeof(float)));
    LEGATO_CUDA_CHECK(cudaMemcpy(ptr, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
  }
  explicit DeviceBuffer(size_t n) { LEGATO_CUDA_CHECK(cudaMalloc(&ptr, n * sizeof(float))); }
  ~DeviceBuffer() { cudaFree(ptr); }
  std::vector<float> download(size_t n) const {
    std::vector<float> out(n);
    LEGATO_CUDA_CHECK(cudaMemcpy(out.data(), ptr, n * sizeof(float), cudaMemcpyDeviceToHost));
    return out;
  }
};

std::vector<float> random_floats(size_t n, uint64_t seed, double scale) {
  const Tensor t = Tensor::uniform({static_cast<int64_t>(n)}, -scale, scale, seed);
  return std::vector<float>(t.data<float>(), t.data<float>() + n);
}

}  // namespace
#endif

TEST_CASE("cuda: fused LSTM cell kernels match the CPU float64 cell") {
  if (!gpu_available()) {
    MESSAGE("SKIPPED: no CUDA GPU on this machine (or a build without CUDA)");
    return;
  }
#if defined(LEGATO_HAVE_CUDA)
  // Sizes that are not multiples of 32, and batch 1.
  for (auto [batch, hidden] : {std::pair<int, int>{1, 37}, {5, 64}, {3, 129}}) {
    CAPTURE(batch);
    CAPTURE(hidden);
    const size_t n = static_cast<size_t>(batch) * hidden, g = 4 * n;
    const auto pre = random_floats(g, 1, 2.0), b_ih = random_floats(4 * hidden, 2, 0.5),
               b_hh = random_floats(4 * hidden, 3, 0.5), c_prev = random_floats(n, 4, 1.0),
               dh = random_floats(n, 5, 1.0), dc_next = random_floats(n, 6, 1.0);
    DeviceBuffer d_pre(pre), d_bih(b_ih), d_bhh(b_hh), d_cprev(c_prev), d_dh(dh), d_dcn(dc_next);
    DeviceBuffer d_cache(g), d_c(n), d_h(n), d_dg(g), d_dcp(n);
    kernels::lstm_cell_forward_launch(d_pre.ptr, d_bih.ptr, d_bhh.ptr, d_cprev.ptr, d_cache.ptr, d_c.ptr, d_h.ptr,
                                      batch, hidden, nullptr);
    kernels::lstm_cell_backward_launch(d_cache.ptr, d_cprev.ptr, d_c.ptr, d_dh.ptr, d_dcn.ptr, d_dg.ptr, d_dcp.ptr,
                                       batch, hidden, nullptr);
    LEGATO_CUDA_CHECK(cudaDeviceSynchronize());
    const auto h = d_h.download(n), c = d_c.download(n), dg = d_dg.download(g), dcp = d_dcp.download(n);
    // Tolerance atol 1e-5 + rtol 1e-5 * |ref|: float32 transcendental functions on the device
    // differ from the host's by a few ulps.
    auto close = [](double got, double ref) { return std::abs(got - ref) <= 1e-5 + 1e-5 * std::abs(ref); };
    int bad = 0;
    for (int b = 0; b < batch && bad < 5; ++b)
      for (int j = 0; j < hidden && bad < 5; ++j) {
        const size_t e = static_cast<size_t>(b) * hidden + j;
        double a[4];
        for (int k = 0; k < 4; ++k)
          a[k] = double(pre[b * 4 * hidden + k * hidden + j]) + b_ih[k * hidden + j] + b_hh[k * hidden + j];
        double c_ref, h_ref, carry;
        const auto gates = kernels::lstm_cell_forward(a[0], a[1], a[2], a[3], double(c_prev[e]), &c_ref, &h_ref);
        const auto d = kernels::lstm_cell_backward(gates, double(c_prev[e]), c_ref, double(dh[e]),
                                                   double(dc_next[e]), &carry);
        const double dref[4] = {d.i, d.f, d.g, d.o};
        bool ok = close(h[e], h_ref) && close(c[e], c_ref) && close(dcp[e], carry);
        for (int k = 0; k < 4; ++k) ok = ok && close(dg[b * 4 * hidden + k * hidden + j], dref[k]);
        if (!ok) {
          ++bad;
          MESSAGE("mismatch at batch " << b << " unit " << j << ": h " << h[e] << " vs " << h_ref);
        }
      }
    CHECK(bad == 0);
  }
#endif
}
