// CUDA kernels against the CPU float64 result. Skipped, with a visible message, where the build
// has no CUDA or the machine has no GPU.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "engine/ops.h"
#include "engine/ops/lstm.h"
#include "engine/tensor.h"
#include "gpu.h"

#if defined(LEGATO_HAVE_CUDA)
#include <cuda_runtime.h>

#include "engine/cuda/device_allocator.h"
#include "engine/cuda/lstm_sequence.h"
#include "kernels/cuda_check.h"
#include "kernels/device_buffer.h"
#include "kernels/dropout.h"
#include "kernels/embedding.h"
#include "kernels/loss.h"
#include "kernels/lstm.h"
#endif

using namespace legato;

#if defined(LEGATO_HAVE_CUDA)
namespace {

using kernels::DeviceArray;
using kernels::DeviceBuffer;

std::vector<float> random_floats(size_t n, uint64_t seed, double scale) {
  const Tensor t = Tensor::uniform({static_cast<int64_t>(n)}, -scale, scale, seed);
  return std::vector<float>(t.data<float>(), t.data<float>() + n);
}

}  // namespace
#endif

TEST_CASE("cuda: fused LSTM cell kernels match the CPU float64 cell") {
  SKIP_WITHOUT_GPU();
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
    kernels::lstm_cell_forward_launch(d_pre.get(), d_bih.get(), d_bhh.get(), d_cprev.get(), d_cache.get(), d_c.get(),
                                      d_h.get(), batch, hidden, nullptr);
    kernels::lstm_cell_backward_launch(d_cache.get(), d_cprev.get(), d_c.get(), d_dh.get(), nullptr, d_dcn.get(),
                                       d_dg.get(), d_dcp.get(), batch, hidden, nullptr);
    LEGATO_CUDA_CHECK(cudaDeviceSynchronize());
    const auto h = d_h.download(), c = d_c.download(), dg = d_dg.download(), dcp = d_dcp.download();
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
        const auto d =
            kernels::lstm_cell_backward(gates, double(c_prev[e]), c_ref, double(dh[e]), double(dc_next[e]), &carry);
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

TEST_CASE("cuda: the sequence LSTM (cuBLAS + fused cells) matches the CPU float64 op, outputs and gradients") {
  SKIP_WITHOUT_GPU();
#if defined(LEGATO_HAVE_CUDA)
  cublasHandle_t blas;
  LEGATO_CUBLAS_CHECK(cublasCreate(&blas));
  LEGATO_CUBLAS_CHECK(cublasSetMathMode(blas, CUBLAS_DEFAULT_MATH));  // strict FP32, no TF32
  struct Shape4 {
    int T, B, I, H;
  };
  for (const Shape4 s : {Shape4{5, 1, 3, 37}, Shape4{7, 5, 64, 64}, Shape4{4, 3, 17, 129}}) {
    CAPTURE(s.T);
    CAPTURE(s.B);
    CAPTURE(s.I);
    CAPTURE(s.H);
    const int64_t G = 4 * s.H;
    auto leaf = [](const Shape& shape, uint64_t seed, double scale) {
      return Tensor::uniform(shape, -scale, scale, seed, DType::F64).set_requires_grad(true);
    };
    const Tensor x = leaf({s.T, s.B, s.I}, 1, 1.0), h0 = leaf({s.B, s.H}, 2, 1.0), c0 = leaf({s.B, s.H}, 3, 1.0);
    const ops::LstmWeights w{leaf({G, s.I}, 4, 0.3), leaf({G, s.H}, 5, 0.3), leaf({G}, 6, 0.3), leaf({G}, 7, 0.3)};
    const Tensor wy = Tensor::uniform({s.T, s.B, s.H}, -1, 1, 8, DType::F64);
    const Tensor wh = Tensor::uniform({s.B, s.H}, -1, 1, 9, DType::F64),
                 wc = Tensor::uniform({s.B, s.H}, -1, 1, 10, DType::F64);
    const ops::LstmOutputs ref = ops::lstm(x, h0, c0, w);
    ops::add(ops::add(ops::sum(ops::mul(ref.y, wy)), ops::sum(ops::mul(ref.h_n, wh))), ops::sum(ops::mul(ref.c_n, wc)))
        .backward();

    auto floats = [](const Tensor& t) {
      const Tensor f = t.to(DType::F32);
      return std::vector<float>(f.data<float>(), f.data<float>() + f.numel());
    };
    const size_t TB = static_cast<size_t>(s.T) * s.B, BH = static_cast<size_t>(s.B) * s.H;
    DeviceBuffer d_x(floats(x)), d_h0(floats(h0)), d_c0(floats(c0)), d_wih(floats(w.w_ih)), d_whh(floats(w.w_hh)),
        d_bih(floats(w.b_ih)), d_bhh(floats(w.b_hh)), d_dy(floats(wy)), d_dhn(floats(wh)), d_dcn(floats(wc));
    DeviceBuffer cache(TB * G), hs(TB * s.H), cs(TB * s.H), dx(TB * s.I), dh0(BH), dc0(BH), dgates(TB * G), dh(BH),
        dc(BH);
    DeviceBuffer dwih(std::vector<float>(static_cast<size_t>(G) * s.I, 0.0f)),
        dwhh(std::vector<float>(static_cast<size_t>(G) * s.H, 0.0f)), db(std::vector<float>(G, 0.0f));
    const cuda::LstmDims dims{s.T, s.B, s.I, s.H};
    cuda::lstm_forward_cuda(blas, nullptr, dims, d_x.get(), d_h0.get(), d_c0.get(), d_wih.get(), d_whh.get(),
                            d_bih.get(), d_bhh.get(), cache.get(), hs.get(), cs.get());
    cuda::lstm_backward_cuda(blas, nullptr, dims, d_x.get(), d_h0.get(), d_c0.get(), d_wih.get(), d_whh.get(),
                             cache.get(), hs.get(), cs.get(), d_dy.get(), d_dhn.get(), d_dcn.get(), dx.get(), dh0.get(),
                             dc0.get(), dwih.get(), dwhh.get(), db.get(), dgates.get(), dh.get(), dc.get());
    LEGATO_CUDA_CHECK(cudaDeviceSynchronize());
    // Tolerance atol + rtol * |ref|: outputs 1e-5 + 1e-4 (float32 cells), gradients 1e-4 + 1e-3
    // (float32 sums over T * B rows and the recurrence).
    auto compare = [](const std::vector<float>& got, const Tensor& expect, double atol, double rtol, const char* what) {
      CAPTURE(what);
      REQUIRE(static_cast<int64_t>(got.size()) == expect.numel());
      int bad = 0;
      for (int64_t k = 0; k < expect.numel() && bad < 5; ++k)
        if (std::abs(got[k] - expect.at(k)) > atol + rtol * std::abs(expect.at(k))) {
          ++bad;
          MESSAGE(what << "[" << k << "]: cuda " << got[k] << " vs cpu " << expect.at(k));
        }
      CHECK(bad == 0);
    };
    compare(hs.download(), ref.y, 1e-5, 1e-4, "y");
    const std::vector<float> all_c = cs.download();
    compare(std::vector<float>(all_c.end() - static_cast<long>(BH), all_c.end()), ref.c_n, 1e-5, 1e-4, "c_n");
    compare(dx.download(), x.grad(), 1e-4, 1e-3, "dx");
    compare(dh0.download(), h0.grad(), 1e-4, 1e-3, "dh0");
    compare(dc0.download(), c0.grad(), 1e-4, 1e-3, "dc0");
    compare(dwih.download(), w.w_ih.grad(), 1e-4, 1e-3, "dW_ih");
    compare(dwhh.download(), w.w_hh.grad(), 1e-4, 1e-3, "dW_hh");
    compare(db.download(), w.b_ih.grad(), 1e-4, 1e-3, "db_ih");
    compare(db.download(), w.b_hh.grad(), 1e-4, 1e-3, "db_hh");
  }
  cublasDestroy(blas);
#endif
}

TEST_CASE("cuda: the dropout, softmax cross-entropy and embedding kernels match the CPU") {
  SKIP_WITHOUT_GPU();
#if defined(LEGATO_HAVE_CUDA)
  auto floats = [](const Tensor& t) {
    const Tensor f = t.to(DType::F32);
    return std::vector<float>(f.data<float>(), f.data<float>() + f.numel());
  };
  // atol 1e-5 + rtol 1e-4 against the CPU float64 result unless said otherwise.
  auto compare = [](const std::vector<float>& got, const std::vector<double>& expect, const char* what,
                    double atol = 1e-5, double rtol = 1e-4) {
    CAPTURE(what);
    REQUIRE(got.size() == expect.size());
    int bad = 0;
    for (size_t k = 0; k < got.size() && bad < 5; ++k)
      if (std::abs(got[k] - expect[k]) > atol + rtol * std::abs(expect[k])) {
        ++bad;
        MESSAGE(what << "[" << k << "]: cuda " << got[k] << " vs cpu " << expect[k]);
      }
    CHECK(bad == 0);
  };
  const int64_t rows = 37, cols = 129;  // not multiples of 32
  const Tensor x = Tensor::uniform({rows, cols}, -2, 2, 31, DType::F64);

  {  // dropout: the same mask bit for bit, at an offset that is not a multiple of 4
    DeviceBuffer dx(floats(x)), dy(x.numel()), dmask(x.numel());
    kernels::dropout_launch(dx.get(), dy.get(), dmask.get(), x.numel(), 0.3f, 77, 5, {kernels::BatchSlice{}, cols},
                            nullptr);
    const Tensor ref = ops::dropout(x.to(DType::F32), 0.3, true, 77, 5);
    const std::vector<float> got = dy.download();
    for (int64_t k = 0; k < x.numel(); ++k) REQUIRE(got[k] == ref.data<float>()[k]);
  }
  {  // softmax cross-entropy, loss and gradient
    std::vector<int32_t> t(rows);
    for (int64_t r = 0; r < rows; ++r) t[r] = static_cast<int32_t>((r * 17) % cols);
    Tensor z = x.clone().set_requires_grad(true);
    Tensor loss = ops::cross_entropy_logits(z, Tensor::from_indices({rows}, t));
    loss.backward();
    DeviceBuffer dz(floats(x)), row_loss(rows), dgrad(x.numel());
    kernels::DeviceArray<int32_t> dt(t);
    kernels::softmax_xent_launch(dz.get(), dt.get(), row_loss.get(), dgrad.get(), rows, cols, 1.0f / rows, nullptr);
    double mean = 0;
    for (float v : row_loss.download()) mean += v / rows;
    CHECK(mean == doctest::Approx(loss.item()).epsilon(1e-5));
    compare(dgrad.download(), z.grad().to_vector(), "dlogits");
  }
  {  // embedding forward and backward (repeated rows add up)
    const Tensor table = Tensor::uniform({11, 5}, -1, 1, 33, DType::F64).set_requires_grad(true);
    const std::vector<int32_t> ids = {3, 10, 3, 0, 7, 3};
    const Tensor idx = Tensor::from_indices({6}, ids);
    const Tensor out = ops::embedding(table, idx);
    const Tensor seed = Tensor::uniform({6, 5}, -1, 1, 34, DType::F64);
    out.backward(seed);
    DeviceBuffer dtable(floats(table)), dout(30), dseed(floats(seed)), dgrad(55);
    kernels::DeviceArray<int32_t> dids(ids);
    dgrad.zero();
    kernels::embedding_forward_launch(dtable.get(), dids.get(), dout.get(), 6, 5, nullptr);
    kernels::embedding_backward_launch(dseed.get(), dids.get(), dgrad.get(), 6, 5, nullptr);
    compare(dout.download(), out.to_vector(), "embedding");
    compare(dgrad.download(), table.grad().to_vector(), "embedding grad");
  }
#endif
}

TEST_CASE("cuda: the fused softmax cross-entropy reads nothing outside a row for a target out of range") {
  SKIP_WITHOUT_GPU();
#if defined(LEGATO_HAVE_CUDA)
  // Three rows of 5 logits; the targets of rows 0 and 2 are outside [0, 5). The launcher is public,
  // so its kernel guards itself (the engine checks targets before): NaN loss, zero gradient there.
  const auto logits = random_floats(15, 70, 2.0);
  DeviceBuffer d_logits(logits), d_loss(3), d_dlogits(15);
  DeviceArray<int32_t> d_targets(std::vector<int32_t>{-1, 2, 5});
  kernels::softmax_xent_launch(d_logits.get(), d_targets.get(), d_loss.get(), d_dlogits.get(), 3, 5, 1.0f, nullptr);
  const auto loss = d_loss.download(), grad = d_dlogits.download();
  CHECK(std::isnan(loss[0]));
  CHECK(std::isnan(loss[2]));
  CHECK(std::isfinite(loss[1]));
  for (int j = 0; j < 5; ++j) {
    CHECK(grad[j] == 0.0f);
    CHECK(grad[10 + j] == 0.0f);
  }
  CHECK(grad[5 + 2] < 0.0f);  // the valid row: softmax - 1 at its target
#endif
}

TEST_CASE("cuda: the caching device allocator reuses freed blocks") {
  SKIP_WITHOUT_GPU();
#if defined(LEGATO_HAVE_CUDA)
  cuda::device_release_cache();
  void* first = cuda::device_allocate(1000);
  const size_t before = cuda::device_system_allocations();
  cuda::device_release(first, 1000);
  CHECK(cuda::device_cached_bytes() >= 1000);
  void* again = cuda::device_allocate(1000);  // the same size: from the cache, no cudaMalloc
  CHECK(again == first);
  CHECK(cuda::device_system_allocations() == before);
  CHECK(reinterpret_cast<uintptr_t>(again) % 256 == 0);
  LEGATO_CUDA_CHECK(cudaMemset(again, 0, 1000));  // and it is real device memory
  cuda::device_release(again, 1000);
  cuda::device_release_cache();
  CHECK(cuda::device_cached_bytes() == 0);
#endif
}
