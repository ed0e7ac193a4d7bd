#pragma once
// cuDNN 9's LSTM (the v8 RNN API: cudnnRNNForward, cudnnRNNBackwardData_v8,
// cudnnRNNBackwardWeights_v8), set up as the comparison for our kernels: the standard algorithm
// or one of the persistent ones (CudnnAlgo; a configuration cuDNN does not support throws with its
// status, at construction or at the first call), double bias, unidirectional, linear input, no dropout; strict FP32
// (CUDNN_FMA_MATH) or TF32. Weights are copied in from our layout through cudnnGetRNNWeightParams, so both sides
// compute on the same numbers. All buffers are device memory; sequences are [T, B, features].
#include <memory>
#include <vector>

typedef struct CUstream_st* cudaStream_t;

#include "bench/lstm_shape.h"

namespace legato::bench {

// cudnnRNNAlgo_t's choices: the standard algorithm and the persistent kernels (the weights held
// on chip across steps: STATIC, STATIC_SMALL_H for small hidden sizes; DYNAMIC, compiled for the
// shape at construction with cudnnBuildRNNDynamic).
enum class CudnnAlgo { Standard, PersistStatic, PersistStaticSmallH, PersistDynamic };
const char* algo_name(CudnnAlgo algo);  // "standard", "persist_static", ...
constexpr CudnnAlgo kCudnnAlgos[] = {CudnnAlgo::Standard, CudnnAlgo::PersistStatic, CudnnAlgo::PersistStaticSmallH,
                                     CudnnAlgo::PersistDynamic};

class CudnnLstm {
 public:
  CudnnLstm(const LstmShape& shape, bool tf32, CudnnAlgo algo = CudnnAlgo::Standard);
  ~CudnnLstm();
  CudnnLstm(const CudnnLstm&) = delete;
  CudnnLstm& operator=(const CudnnLstm&) = delete;

  void set_weights(const std::vector<HostLstmLayer>& layers);
  // The weight gradient of layer k in our layout (after backward_weights).
  HostLstmLayer weight_gradients(int layer) const;

  // x [T, B, I] -> y [T, B, H] (last layer), hy, cy [L, B, H]; training keeps the reserve space.
  void forward(const float* x, float* y, float* hy, float* cy, bool training);
  // Inference from a given state (generation steps it with T = 1): hx, cx [L, B, H] -> hy, cy
  // (which must not alias hx, cx).
  void step(const float* x, const float* hx, const float* cx, float* y, float* hy, float* cy);
  // dy [T, B, H] -> dx [T, B, I]; dhx, dcx [L, B, H]; needs forward(training) first.
  void backward_data(const float* y, const float* dy, float* dx, float* dhx, float* dcx);
  // Adds the weight gradients into the gradient space (zeroed by zero_weight_gradients).
  void backward_weights(const float* x, const float* y);
  void zero_weight_gradients();
  // Where later calls run (default: the legacy stream), e.g. a stream being captured into a graph.
  void set_stream(cudaStream_t stream);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace legato::bench
