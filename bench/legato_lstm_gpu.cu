#include "bench/legato_lstm_gpu.h"

#include <cublas_v2.h>

#include "engine/cuda/lstm_sequence.h"
#include "engine/cuda/lstm_wavefront.h"
#include "kernels/cuda_check.h"
#include "kernels/device_buffer.h"
#include "kernels/lstm.h"

namespace legato::bench {

using kernels::DeviceBuffer;

struct LegatoLstmGpu::State {
  LstmShape shape{};
  cublasHandle_t blas = nullptr;
  struct Layer {
    std::unique_ptr<DeviceBuffer> w_ih, w_hh, b_ih, b_hh, dw_ih, dw_hh, db;
    std::unique_ptr<DeviceBuffer> gate_cache, hs, cs, dgates, dx;  // activations and workspace
  };
  std::vector<Layer> layers;
  std::unique_ptr<DeviceBuffer> dh, dc;
  // The wavefront's: a non-blocking stream, a handle and a cuBLAS workspace per layer, and each
  // layer's own carries (the layers' backward passes overlap).
  int chunk = 0;
  std::vector<cudaStream_t> streams;
  std::vector<cublasHandle_t> handles;
  std::vector<std::unique_ptr<DeviceBuffer>> workspaces, dhs, dcs;
  std::vector<cuda::LstmStackLayer> stack;
  cuda::LstmStackDims dims() const {
    return {shape.steps, shape.batch, shape.hidden, shape.layers, chunk, 0.0f, 0, 0, {}};
  }
  cuda::LstmStackStreams stack_streams() const { return {nullptr, blas, streams.data(), handles.data()}; }
};

LegatoLstmGpu::LegatoLstmGpu(const LstmShape& shape, bool tf32, int wavefront_chunk) : s_(std::make_unique<State>()) {
  State& s = *s_;
  s.shape = shape;
  s.chunk = wavefront_chunk;
  LEGATO_CUBLAS_CHECK(cublasCreate(&s.blas));
  LEGATO_CUBLAS_CHECK(cublasSetMathMode(s.blas, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  const size_t H = shape.hidden, G = 4 * H, TB = static_cast<size_t>(shape.steps) * shape.batch;
  for (int l = 0; l < shape.layers; ++l) {
    const size_t in = l == 0 ? shape.input : H;
    State::Layer L;
    L.w_ih = std::make_unique<DeviceBuffer>(G * in);
    L.w_hh = std::make_unique<DeviceBuffer>(G * H);
    L.b_ih = std::make_unique<DeviceBuffer>(G);
    L.b_hh = std::make_unique<DeviceBuffer>(G);
    L.dw_ih = std::make_unique<DeviceBuffer>(G * in);
    L.dw_hh = std::make_unique<DeviceBuffer>(G * H);
    L.db = std::make_unique<DeviceBuffer>(G);
    L.gate_cache = std::make_unique<DeviceBuffer>(TB * G);
    L.hs = std::make_unique<DeviceBuffer>(TB * H);
    L.cs = std::make_unique<DeviceBuffer>(TB * H);
    L.dgates = std::make_unique<DeviceBuffer>(TB * G);
    L.dx = std::make_unique<DeviceBuffer>(TB * in);
    s.layers.push_back(std::move(L));
  }
  s.dh = std::make_unique<DeviceBuffer>(static_cast<size_t>(shape.batch) * H);
  s.dc = std::make_unique<DeviceBuffer>(static_cast<size_t>(shape.batch) * H);
  if (s.chunk > 0) {
    constexpr size_t kWorkspaceFloats = 8u << 20;  // 32 MiB, cuBLAS's recommendation on Hopper
    for (int l = 0; l < shape.layers; ++l) {
      cudaStream_t stream = nullptr;
      cublasHandle_t handle = nullptr;
      LEGATO_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
      LEGATO_CUBLAS_CHECK(cublasCreate(&handle));
      LEGATO_CUBLAS_CHECK(cublasSetStream(handle, stream));  // resets the workspace: set it after
      s.workspaces.push_back(std::make_unique<DeviceBuffer>(kWorkspaceFloats));
      LEGATO_CUBLAS_CHECK(cublasSetWorkspace(handle, s.workspaces.back()->get(), kWorkspaceFloats * sizeof(float)));
      LEGATO_CUBLAS_CHECK(cublasSetMathMode(handle, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
      s.streams.push_back(stream);
      s.handles.push_back(handle);
      s.dhs.push_back(std::make_unique<DeviceBuffer>(static_cast<size_t>(shape.batch) * H));
      s.dcs.push_back(std::make_unique<DeviceBuffer>(static_cast<size_t>(shape.batch) * H));
      State::Layer& L = s.layers[static_cast<size_t>(l)];
      cuda::LstmStackLayer b{};
      b.input = l == 0 ? shape.input : shape.hidden;
      b.w_ih = L.w_ih->get();
      b.w_hh = L.w_hh->get();
      b.b_ih = L.b_ih->get();
      b.b_hh = L.b_hh->get();
      b.gate_cache = L.gate_cache->get();
      b.hs = L.hs->get();
      b.cs = L.cs->get();
      b.dw_ih = L.dw_ih->get();
      b.dw_hh = L.dw_hh->get();
      b.db = L.db->get();
      b.dgates = L.dgates->get();
      b.dh = s.dhs.back()->get();
      b.dc = s.dcs.back()->get();
      b.dx = l > 0 ? L.dx->get() : nullptr;
      s.stack.push_back(b);
    }
  }
  zero_weight_gradients();
}

LegatoLstmGpu::~LegatoLstmGpu() {
  for (cublasHandle_t h : s_->handles) cublasDestroy(h);
  for (cudaStream_t st : s_->streams) cudaStreamDestroy(st);
  cublasDestroy(s_->blas);
}

void LegatoLstmGpu::set_weights(const std::vector<HostLstmLayer>& layers) {
  for (size_t l = 0; l < s_->layers.size(); ++l) {
    s_->layers[l].w_ih->upload(layers.at(l).w_ih);
    s_->layers[l].w_hh->upload(layers.at(l).w_hh);
    s_->layers[l].b_ih->upload(layers.at(l).b_ih);
    s_->layers[l].b_hh->upload(layers.at(l).b_hh);
  }
}

HostLstmLayer LegatoLstmGpu::weight_gradients(int layer) const {
  const State::Layer& L = s_->layers.at(layer);
  const std::vector<float> db = L.db->download();
  return {L.dw_ih->download(), L.dw_hh->download(), db, db};  // both biases share one gradient
}

void LegatoLstmGpu::zero_weight_gradients() {
  for (auto& L : s_->layers) {
    L.dw_ih->zero();
    L.dw_hh->zero();
    L.db->zero();
  }
}

void LegatoLstmGpu::forward(const float* x, float* y, float* hy, float* cy) {
  State& s = *s_;
  const size_t BH = static_cast<size_t>(s.shape.batch) * s.shape.hidden, last = (s.shape.steps - 1) * BH;
  if (s.chunk > 0) {  // the wavefront, joined back into the legacy default stream
    cuda::lstm_stack_forward_cuda(s.stack_streams(), cuda::LstmStackOrder::Wavefront, s.dims(), x, s.stack.data());
    for (int l = 0; l < s.shape.layers; ++l) {
      State::Layer& L = s.layers[l];
      LEGATO_CUDA_CHECK(cudaMemcpyAsync(hy + l * BH, L.hs->get() + last, BH * sizeof(float), cudaMemcpyDeviceToDevice));
      LEGATO_CUDA_CHECK(cudaMemcpyAsync(cy + l * BH, L.cs->get() + last, BH * sizeof(float), cudaMemcpyDeviceToDevice));
    }
    LEGATO_CUDA_CHECK(cudaMemcpyAsync(y, s.layers.back().hs->get(),
                                      static_cast<size_t>(s.shape.steps) * BH * sizeof(float),
                                      cudaMemcpyDeviceToDevice));
    return;
  }
  const float* input = x;
  for (int l = 0; l < s.shape.layers; ++l) {
    State::Layer& L = s.layers[l];
    const cuda::LstmDims d{s.shape.steps, s.shape.batch, l == 0 ? s.shape.input : s.shape.hidden, s.shape.hidden};
    cuda::lstm_forward_cuda(s.blas, nullptr, d, input, nullptr, nullptr, L.w_ih->get(), L.w_hh->get(), L.b_ih->get(),
                            L.b_hh->get(), L.gate_cache->get(), L.hs->get(), L.cs->get());
    LEGATO_CUDA_CHECK(cudaMemcpyAsync(hy + l * BH, L.hs->get() + last, BH * sizeof(float), cudaMemcpyDeviceToDevice));
    LEGATO_CUDA_CHECK(cudaMemcpyAsync(cy + l * BH, L.cs->get() + last, BH * sizeof(float), cudaMemcpyDeviceToDevice));
    input = L.hs->get();
  }
  LEGATO_CUDA_CHECK(
      cudaMemcpyAsync(y, input, static_cast<size_t>(s.shape.steps) * BH * sizeof(float), cudaMemcpyDeviceToDevice));
}

void LegatoLstmGpu::backward(const float* x, const float* dy, float* dx, float* dhx, float* dcx) {
  State& s = *s_;
  const size_t BH = static_cast<size_t>(s.shape.batch) * s.shape.hidden;
  if (s.chunk > 0) {
    cuda::lstm_stack_backward_cuda(s.stack_streams(), cuda::LstmStackOrder::Wavefront, s.dims(), x, dy, nullptr, dx,
                                   s.stack.data());
    return;
  }
  const float* grad_out = dy;  // the gradient reaching this layer's outputs
  for (int l = s.shape.layers - 1; l >= 0; --l) {
    State::Layer& L = s.layers[l];
    const cuda::LstmDims d{s.shape.steps, s.shape.batch, l == 0 ? s.shape.input : s.shape.hidden, s.shape.hidden};
    const float* input = l == 0 ? x : s.layers[l - 1].hs->get();
    cuda::lstm_backward_cuda(s.blas, nullptr, d, input, nullptr, nullptr, L.w_ih->get(), L.w_hh->get(),
                             L.gate_cache->get(), L.hs->get(), L.cs->get(), grad_out, nullptr, nullptr,
                             l == 0 ? dx : L.dx->get(), dhx + l * BH, dcx + l * BH, L.dw_ih->get(), L.dw_hh->get(),
                             L.db->get(), L.dgates->get(), s.dh->get(), s.dc->get());
    grad_out = L.dx->get();
  }
}

}  // namespace legato::bench
