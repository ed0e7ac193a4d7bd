#include "bench/cudnn_lstm.h"

#include <cudnn.h>

#include <stdexcept>
#include <string>

#include "kernels/cuda_check.h"

#define CUDNN_CHECK(call)                                                                                              \
  do {                                                                                                                 \
    const cudnnStatus_t status_ = (call);                                                                              \
    if (status_ != CUDNN_STATUS_SUCCESS)                                                                               \
      throw std::runtime_error(std::string(#call) + " failed at " + __FILE__ + ":" + std::to_string(__LINE__) + ": " + \
                               cudnnGetErrorString(status_));                                                          \
  } while (0)

namespace legato::bench {

struct CudnnLstm::State {
  LstmShape shape{};
  cudnnHandle_t handle = nullptr;
  cudnnRNNDescriptor_t rnn = nullptr;
  cudnnDropoutDescriptor_t dropout = nullptr;
  cudnnRNNDataDescriptor_t x_desc = nullptr, y_desc = nullptr;
  cudnnTensorDescriptor_t h_desc = nullptr;
  void* dropout_states = nullptr;
  int32_t* dev_seq_lengths = nullptr;
  void *weights = nullptr, *dweights = nullptr, *workspace = nullptr, *reserve = nullptr;
  size_t weight_bytes = 0, workspace_bytes = 0, reserve_bytes = 0;
  ~State();

  // The device address of one gate's matrix (lin_layer 0-3: W_ih's i, f, g, o; 4-7: W_hh's) or
  // bias in `space`, with its element count.
  std::pair<float*, size_t> locate(const void* space, int layer, int lin_layer, bool bias) const {
    cudnnTensorDescriptor_t m_desc, b_desc;
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&m_desc));
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&b_desc));
    void *m_addr = nullptr, *b_addr = nullptr;
    CUDNN_CHECK(
        cudnnGetRNNWeightParams(handle, rnn, layer, weight_bytes, space, lin_layer, m_desc, &m_addr, b_desc, &b_addr));
    size_t bytes = 0;
    CUDNN_CHECK(cudnnGetTensorSizeInBytes(bias ? b_desc : m_desc, &bytes));
    cudnnDestroyTensorDescriptor(m_desc);
    cudnnDestroyTensorDescriptor(b_desc);
    return {static_cast<float*>(bias ? b_addr : m_addr), bytes / sizeof(float)};
  }
};

const char* algo_name(CudnnAlgo algo) {
  switch (algo) {
    case CudnnAlgo::Standard: return "standard";
    case CudnnAlgo::PersistStatic: return "persist_static";
    case CudnnAlgo::PersistStaticSmallH: return "persist_static_small_h";
    case CudnnAlgo::PersistDynamic: return "persist_dynamic";
  }
  return "?";
}

namespace {
cudnnRNNAlgo_t cudnn_algo(CudnnAlgo algo) {
  switch (algo) {
    case CudnnAlgo::Standard: return CUDNN_RNN_ALGO_STANDARD;
    case CudnnAlgo::PersistStatic: return CUDNN_RNN_ALGO_PERSIST_STATIC;
    case CudnnAlgo::PersistStaticSmallH: return CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H;
    case CudnnAlgo::PersistDynamic: return CUDNN_RNN_ALGO_PERSIST_DYNAMIC;
  }
  return CUDNN_RNN_ALGO_STANDARD;
}
}  // namespace

CudnnLstm::CudnnLstm(const LstmShape& shape, bool tf32, CudnnAlgo algo) : s_(std::make_unique<State>()) {
  State& s = *s_;
  s.shape = shape;
  CUDNN_CHECK(cudnnCreate(&s.handle));
  CUDNN_CHECK(cudnnCreateDropoutDescriptor(&s.dropout));
  size_t state_bytes = 0;
  CUDNN_CHECK(cudnnDropoutGetStatesSize(s.handle, &state_bytes));
  LEGATO_CUDA_CHECK(cudaMalloc(&s.dropout_states, state_bytes));
  CUDNN_CHECK(cudnnSetDropoutDescriptor(s.dropout, s.handle, 0.0f, s.dropout_states, state_bytes, 1));
  CUDNN_CHECK(cudnnCreateRNNDescriptor(&s.rnn));
  CUDNN_CHECK(cudnnSetRNNDescriptor_v8(s.rnn, cudnn_algo(algo), CUDNN_LSTM, CUDNN_RNN_DOUBLE_BIAS, CUDNN_UNIDIRECTIONAL,
                                       CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT,
                                       tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH, shape.input, shape.hidden,
                                       shape.hidden, shape.layers, s.dropout, 0));
  // The dynamic persistent kernel is compiled for the batch size before any other call.
  if (algo == CudnnAlgo::PersistDynamic) CUDNN_CHECK(cudnnBuildRNNDynamic(s.handle, s.rnn, shape.batch));
  std::vector<int32_t> lengths(shape.batch, shape.steps);
  LEGATO_CUDA_CHECK(cudaMalloc(&s.dev_seq_lengths, sizeof(int32_t) * lengths.size()));
  LEGATO_CUDA_CHECK(
      cudaMemcpy(s.dev_seq_lengths, lengths.data(), sizeof(int32_t) * lengths.size(), cudaMemcpyHostToDevice));
  float padding = 0.0f;
  CUDNN_CHECK(cudnnCreateRNNDataDescriptor(&s.x_desc));
  CUDNN_CHECK(cudnnCreateRNNDataDescriptor(&s.y_desc));
  CUDNN_CHECK(cudnnSetRNNDataDescriptor(s.x_desc, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED, shape.steps,
                                        shape.batch, shape.input, lengths.data(), &padding));
  CUDNN_CHECK(cudnnSetRNNDataDescriptor(s.y_desc, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED, shape.steps,
                                        shape.batch, shape.hidden, lengths.data(), &padding));
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&s.h_desc));
  const int dims[3] = {shape.layers, shape.batch, shape.hidden};
  const int strides[3] = {shape.batch * shape.hidden, shape.hidden, 1};
  CUDNN_CHECK(cudnnSetTensorNdDescriptor(s.h_desc, CUDNN_DATA_FLOAT, 3, dims, strides));
  CUDNN_CHECK(cudnnGetRNNWeightSpaceSize(s.handle, s.rnn, &s.weight_bytes));
  CUDNN_CHECK(cudnnGetRNNTempSpaceSizes(s.handle, s.rnn, CUDNN_FWD_MODE_TRAINING, s.x_desc, &s.workspace_bytes,
                                        &s.reserve_bytes));
  LEGATO_CUDA_CHECK(cudaMalloc(&s.weights, s.weight_bytes));
  LEGATO_CUDA_CHECK(cudaMalloc(&s.dweights, s.weight_bytes));
  LEGATO_CUDA_CHECK(cudaMalloc(&s.workspace, std::max<size_t>(s.workspace_bytes, 1)));
  LEGATO_CUDA_CHECK(cudaMalloc(&s.reserve, std::max<size_t>(s.reserve_bytes, 1)));
}

CudnnLstm::~CudnnLstm() = default;

// Also when the constructor throws part way (an algorithm cuDNN does not support): what exists.
CudnnLstm::State::~State() {
  for (void* p : {weights, dweights, workspace, reserve, dropout_states, static_cast<void*>(dev_seq_lengths)})
    if (p) cudaFree(p);
  if (h_desc) cudnnDestroyTensorDescriptor(h_desc);
  if (x_desc) cudnnDestroyRNNDataDescriptor(x_desc);
  if (y_desc) cudnnDestroyRNNDataDescriptor(y_desc);
  if (rnn) cudnnDestroyRNNDescriptor(rnn);
  if (dropout) cudnnDestroyDropoutDescriptor(dropout);
  if (handle) cudnnDestroy(handle);
}

void CudnnLstm::set_weights(const std::vector<HostLstmLayer>& layers) {
  const State& s = *s_;
  const int H = s.shape.hidden;
  for (int l = 0; l < s.shape.layers; ++l) {
    const HostLstmLayer& w = layers.at(l);
    const int in = l == 0 ? s.shape.input : H;
    for (int gate = 0; gate < 4; ++gate) {  // cuDNN's LSTM gates: 0 input, 1 forget, 2 cell (g), 3 output
      const auto copy = [&](int lin, bool bias, const float* src, size_t count) {
        const auto [dst, n] = s.locate(s.weights, l, lin, bias);
        if (n != count) throw std::runtime_error("cudnn: unexpected size of weight " + std::to_string(lin));
        LEGATO_CUDA_CHECK(cudaMemcpy(dst, src, count * sizeof(float), cudaMemcpyHostToDevice));
      };
      copy(gate, false, w.w_ih.data() + static_cast<size_t>(gate) * H * in, static_cast<size_t>(H) * in);
      copy(gate + 4, false, w.w_hh.data() + static_cast<size_t>(gate) * H * H, static_cast<size_t>(H) * H);
      copy(gate, true, w.b_ih.data() + static_cast<size_t>(gate) * H, H);
      copy(gate + 4, true, w.b_hh.data() + static_cast<size_t>(gate) * H, H);
    }
  }
}

HostLstmLayer CudnnLstm::weight_gradients(int layer) const {
  const State& s = *s_;
  const int H = s.shape.hidden, in = layer == 0 ? s.shape.input : H;
  HostLstmLayer g{std::vector<float>(4 * H * in), std::vector<float>(4 * H * H), std::vector<float>(4 * H),
                  std::vector<float>(4 * H)};
  for (int gate = 0; gate < 4; ++gate) {
    const auto fetch = [&](int lin, bool bias, float* dst) {
      const auto [src, n] = s.locate(s.dweights, layer, lin, bias);
      LEGATO_CUDA_CHECK(cudaMemcpy(dst, src, n * sizeof(float), cudaMemcpyDeviceToHost));
    };
    fetch(gate, false, g.w_ih.data() + static_cast<size_t>(gate) * H * in);
    fetch(gate + 4, false, g.w_hh.data() + static_cast<size_t>(gate) * H * H);
    fetch(gate, true, g.b_ih.data() + static_cast<size_t>(gate) * H);
    fetch(gate + 4, true, g.b_hh.data() + static_cast<size_t>(gate) * H);
  }
  return g;
}

void CudnnLstm::forward(const float* x, float* y, float* hy, float* cy, bool training) {
  State& s = *s_;
  CUDNN_CHECK(cudnnRNNForward(s.handle, s.rnn, training ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE,
                              s.dev_seq_lengths, s.x_desc, x, s.y_desc, y, s.h_desc, nullptr, hy, s.h_desc, nullptr, cy,
                              s.weight_bytes, s.weights, s.workspace_bytes, s.workspace, s.reserve_bytes, s.reserve));
}

void CudnnLstm::step(const float* x, const float* hx, const float* cx, float* y, float* hy, float* cy) {
  State& s = *s_;
  CUDNN_CHECK(cudnnRNNForward(s.handle, s.rnn, CUDNN_FWD_MODE_INFERENCE, s.dev_seq_lengths, s.x_desc, x, s.y_desc, y,
                              s.h_desc, hx, hy, s.h_desc, cx, cy, s.weight_bytes, s.weights, s.workspace_bytes,
                              s.workspace, s.reserve_bytes, s.reserve));
}

void CudnnLstm::backward_data(const float* y, const float* dy, float* dx, float* dhx, float* dcx) {
  State& s = *s_;
  CUDNN_CHECK(cudnnRNNBackwardData_v8(s.handle, s.rnn, s.dev_seq_lengths, s.y_desc, y, dy, s.x_desc, dx, s.h_desc,
                                      nullptr, nullptr, dhx, s.h_desc, nullptr, nullptr, dcx, s.weight_bytes, s.weights,
                                      s.workspace_bytes, s.workspace, s.reserve_bytes, s.reserve));
}

void CudnnLstm::backward_weights(const float* x, const float* y) {
  State& s = *s_;
  CUDNN_CHECK(cudnnRNNBackwardWeights_v8(s.handle, s.rnn, CUDNN_WGRAD_MODE_ADD, s.dev_seq_lengths, s.x_desc, x,
                                         s.h_desc, nullptr, s.y_desc, y, s.weight_bytes, s.dweights, s.workspace_bytes,
                                         s.workspace, s.reserve_bytes, s.reserve));
}

void CudnnLstm::set_stream(cudaStream_t stream) { CUDNN_CHECK(cudnnSetStream(s_->handle, stream)); }

void CudnnLstm::zero_weight_gradients() { LEGATO_CUDA_CHECK(cudaMemset(s_->dweights, 0, s_->weight_bytes)); }

}  // namespace legato::bench
