#pragma once
// The LSTM over a whole sequence as one autograd node, and a graph-free step for generation.
// Gate order i, f, g, o; weights in PyTorch/cuDNN layout.
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/batch_slice.h"
#include "engine/precision.h"
#include "engine/tensor.h"

namespace legato::ops {

struct LstmWeights {
  Tensor w_ih;  // [4H, I]
  Tensor w_hh;  // [4H, H]
  Tensor b_ih;  // [4H]
  Tensor b_hh;  // [4H]
  int64_t hidden() const { return w_hh.dim(1); }
  int64_t input() const { return w_ih.dim(1); }
};

struct LstmOutputs {
  Tensor y;    // [T, B, H], or [B, H] (the last step) when last_only
  Tensor h_n;  // [B, H]
  Tensor c_n;  // [B, H]
};

// x: [T, B, I]; h0, c0: [B, H] or undefined for zeros. Forward: one GEMM for the input
// projection of all T steps, then per step one recurrent GEMM and one fused pointwise pass that
// writes the gate cache. Backward (BPTT) runs inside this one node; the weight gradients are
// large GEMMs after the loop. precision: of the products, forward and backward (engine/precision.h).
LstmOutputs lstm(const Tensor& x, const Tensor& h0, const Tensor& c0, const LstmWeights& weights,
                 bool last_only = false, Precision precision = Precision::FP32);

// A stack of layers trained together, with inverted dropout between them, as one op: on the GPU
// it runs as a wavefront across layers (layer l+1 on chunk c while layer l is on chunk c+1, one
// stream per layer: engine/cuda/lstm_wavefront.h), bit-identical to its sequential order. On the
// CPU it is lstm() per layer with dropout() after every layer but the top, nothing more.
struct LstmStackOptions {
  double dropout = 0;                     // p between layers; 0: none (evaluation passes 0)
  uint64_t seed = 0, offset = 0;          // dropout's Philox stream: layer l's output [T, B, H] uses
                                          // offset + l*T*B*H + i for element i, as dropout() per layer
  BatchSlice slice;                       // the part of the batch x holds (i and B counted in the whole)
  bool last_only = false;                 // the top layer's output: [B, H] at the last step
  int chunk = 10;                         // GPU: time steps per chunk of the wavefront
  bool sequential = false;                // GPU: the same chunks on one stream, layer after layer
  Precision precision = Precision::FP32;  // of every layer's products, forward and backward
};
// x [T, B, I]; layers[0] takes I inputs, the others H (one H for all). Zero initial states.
// Returns the top layer's output, [T, B, H] (or [B, H] with last_only).
Tensor lstm_stack(const Tensor& x, const std::vector<LstmWeights>& layers, const LstmStackOptions& options);

// The outputs' views of a sequence's per-step states hs and cs [T, B, H] (both backends).
LstmOutputs sequence_outputs(const Tensor& hs, const Tensor& cs, bool last_only);

// One layer's weights made ready for many lstm_step calls of `batch` rows (generation: one per
// token): on the CPU in float32, W_ihᵀ and W_hhᵀ packed once for the products (and rounded to
// bf16 at that precision). The weights must not change while it is in use: make a new one after
// they do.
class LstmStepWeights {
 public:
  LstmStepWeights(const LstmWeights& weights, int64_t batch, Precision precision = Precision::FP32);
  ~LstmStepWeights();
  const LstmWeights& weights() const { return weights_; }
  int64_t batch() const { return batch_; }
  Precision precision() const { return precision_; }
  struct Packed;
  const Packed* packed() const { return packed_.get(); }  // null where the products read W in place

 private:
  LstmWeights weights_;
  int64_t batch_;
  Precision precision_;
  std::shared_ptr<const Packed> packed_;
};

// Advances (h, c) by one step without recording a graph: O(1) work per token.
// x: [B, I]; h, c: [B, H], updated in place; gates: [B, 4H] scratch owned by the caller.
void lstm_step(const Tensor& x, Tensor& h, Tensor& c, const LstmStepWeights& weights, Tensor& gates);
// The same, packing the weights for this one call.
void lstm_step(const Tensor& x, Tensor& h, Tensor& c, const LstmWeights& weights, Tensor& gates,
               Precision precision = Precision::FP32);

}  // namespace legato::ops

// The same on CUDA tensors (engine/cuda/lstm.cpp, lstm_stack.cpp; engine/ops.h says how they are
// reached); arguments already checked by engine/ops/lstm.cpp (shapes, one device, one dtype).
namespace legato::cuda_ops {

ops::LstmOutputs lstm(const Tensor& x, const Tensor& h0, const Tensor& c0, const ops::LstmWeights& weights,
                      bool last_only, Precision precision);
void lstm_step(const Tensor& x, Tensor& h, Tensor& c, const ops::LstmWeights& weights, Tensor& gates,
               Precision precision);
Tensor lstm_stack(const Tensor& x, const std::vector<ops::LstmWeights>& layers, const ops::LstmStackOptions& options);

}  // namespace legato::cuda_ops
