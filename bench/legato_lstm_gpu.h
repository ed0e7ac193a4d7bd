#pragma once
// Our stacked LSTM on the GPU for the benchmarks: kernels/lstm.h per layer, or (with a
// chunk) the layer wavefront of engine/cuda/lstm_wavefront.h, with the same interface as
// CudnnLstm so both run on the same buffers and weights.
#include <memory>
#include <vector>

#include "bench/lstm_shape.h"

namespace legato::bench {

class LegatoLstmGpu {
 public:
  // wavefront_chunk > 0: the wavefront across layers in chunks of that many steps, one stream per
  // layer (the backward then leaves dhx and dcx alone: the stack starts from zero states).
  LegatoLstmGpu(const LstmShape& shape, bool tf32, int wavefront_chunk = 0);
  ~LegatoLstmGpu();
  LegatoLstmGpu(const LegatoLstmGpu&) = delete;
  LegatoLstmGpu& operator=(const LegatoLstmGpu&) = delete;

  void set_weights(const std::vector<HostLstmLayer>& layers);
  HostLstmLayer weight_gradients(int layer) const;
  // x [T, B, I] -> y [T, B, H] of the last layer (also kept inside for backward); hy, cy [L, B, H].
  void forward(const float* x, float* y, float* hy, float* cy);
  // dy [T, B, H] -> dx [T, B, I], dhx, dcx [L, B, H]; adds the weight gradients.
  void backward(const float* x, const float* dy, float* dx, float* dhx, float* dcx);
  void zero_weight_gradients();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace legato::bench
