// The LSTM stack on CUDA (engine/ops/lstm.h, lstm_stack): one autograd node over
// engine/cuda/lstm_wavefront.cpp, the layers as a wavefront on their own streams (or, when asked, in
// sequential order on the engine's stream; the same result bit for bit).
#include <string>

#include "engine/autograd.h"
#include "engine/cuda/common.h"
#include "engine/cuda/lstm_wavefront.h"
#include "engine/ops/lstm.h"

namespace legato::cuda_ops {
namespace {

Tensor grad_or_scratch(const Tensor& input) {
  Tensor g = grad_buffer(input);
  return g.defined() ? g : Tensor::zeros(input.shape(), DType::F32, Device::CUDA);
}

Tensor empty_f32(std::initializer_list<int64_t> shape) {
  return Tensor::empty(std::vector<int64_t>(shape), DType::F32, Device::CUDA);
}

float* ptr(Tensor& t) { return t.defined() ? detail::f32(t) : nullptr; }

// The forward's tensors of one layer, kept by the backward.
struct LayerState {
  Tensor gate_cache, hs, cs, dropped, mask;
};

// The layers' pointers: the weights' and the forward's (the backward adds its own).
std::vector<cuda::LstmStackLayer> describe(const std::vector<ops::LstmWeights>& layers,
                                           std::vector<LayerState>& state) {
  std::vector<cuda::LstmStackLayer> out(layers.size());
  for (size_t l = 0; l < layers.size(); ++l) {
    const ops::LstmWeights& w = layers[l];
    LayerState& s = state[l];
    cuda::LstmStackLayer& b = out[l];
    b.input = detail::as_int("lstm_stack", w.input());
    b.w_ih = detail::f32(w.w_ih);
    b.w_hh = detail::f32(w.w_hh);
    b.b_ih = detail::f32(w.b_ih);
    b.b_hh = detail::f32(w.b_hh);
    b.gate_cache = detail::f32(s.gate_cache);
    b.hs = detail::f32(s.hs);
    b.cs = detail::f32(s.cs);
    b.dropped = ptr(s.dropped);
    b.mask = ptr(s.mask);
  }
  return out;
}

// The engine's stream and the layers', their handles set for the op's precision as each pass is
// queued (another model may have asked for another precision between the forward and the backward).
struct Streams {
  int layers;
  Precision precision;
  cuda::LstmStackStreams get() const {
    const cuda::LayerStreams& side = cuda::layer_streams(layers, precision);
    return {cuda::stream(), cuda::blas(precision), side.streams.data(), side.blas.data()};
  }
};

// Every layer's weights on the device, float32, shaped for x [T, B, I] and the first layer's hidden size.
void check_layers(const Tensor& x, const std::vector<ops::LstmWeights>& layers) {
  const char* op = "lstm_stack";
  const int64_t hidden = layers[0].hidden(), G = 4 * hidden;
  for (size_t l = 0; l < layers.size(); ++l) {
    const ops::LstmWeights& w = layers[l];
    for (const Tensor* t : {&w.w_ih, &w.w_hh, &w.b_ih, &w.b_hh}) detail::check(op, *t, "a layer's weight");
    const int64_t input = l == 0 ? x.dim(2) : hidden;
    if (w.hidden() != hidden || w.input() != input || w.w_ih.dim(0) != G || w.w_hh.dim(0) != G || w.b_ih.numel() != G ||
        w.b_hh.numel() != G)
      throw std::invalid_argument(std::string("lstm_stack: layer ") + std::to_string(l) + " has W_ih " +
                                  w.w_ih.describe() + ", W_hh " + w.w_hh.describe() + " where x is " + x.describe() +
                                  " and the first layer's hidden size " + std::to_string(hidden));
  }
}

// The forward pass's buffers of each layer (the dropout's only where dropout follows the layer).
std::vector<LayerState> forward_state(int64_t steps, int64_t batch, int64_t hidden, int num_layers, bool dropout) {
  const int64_t G = 4 * hidden;
  std::vector<LayerState> state(static_cast<size_t>(num_layers));
  for (int l = 0; l < num_layers; ++l) {
    LayerState& s = state[static_cast<size_t>(l)];
    s.gate_cache = empty_f32({steps, batch, G});  // activated i, f, g, o
    s.hs = empty_f32({steps, batch, hidden});     // h_t
    s.cs = empty_f32({steps, batch, hidden});     // c_t
    if (dropout && l + 1 < num_layers) {
      s.dropped = empty_f32({steps, batch, hidden});  // h_t after dropout: the next layer's input
      s.mask = empty_f32({steps, batch, hidden});     // scaled by 1/(1-p)
    }
  }
  return state;
}

}  // namespace

Tensor lstm_stack(const Tensor& x, const std::vector<ops::LstmWeights>& layers, const ops::LstmStackOptions& options) {
  const char* op = "lstm_stack";
  detail::check(op, x, "x");
  const int num_layers = detail::as_int(op, static_cast<int64_t>(layers.size()));
  const int64_t steps = x.dim(0), batch = x.dim(1), hidden = layers[0].hidden(), G = 4 * hidden;
  check_layers(x, layers);
  if (steps == 0) throw std::invalid_argument("lstm_stack: x has no time steps: " + x.describe());
  detail::as_int(op, steps * batch * G);  // the cuBLAS products index a whole gate cache
  const cuda::LstmStackDims dims{detail::as_int(op, steps),
                                 detail::as_int(op, batch),
                                 detail::as_int(op, hidden),
                                 num_layers,
                                 options.chunk,
                                 static_cast<float>(options.dropout),
                                 options.seed,
                                 options.offset,
                                 options.slice};
  const cuda::LstmStackOrder order =
      options.sequential ? cuda::LstmStackOrder::Sequential : cuda::LstmStackOrder::Wavefront;
  const Streams streams{num_layers, options.precision};

  std::vector<LayerState> state = forward_state(steps, batch, hidden, num_layers, options.dropout > 0);
  std::vector<cuda::LstmStackLayer> bufs = describe(layers, state);
  detail::with_context(op, {x, layers[0].w_ih},
                       [&] { cuda::lstm_stack_forward_cuda(streams.get(), order, dims, detail::f32(x), bufs.data()); });
  const LayerState& top = state.back();
  const Tensor y = ops::sequence_outputs(top.hs, top.cs, options.last_only).y;

  std::vector<Tensor> inputs{x};
  for (const ops::LstmWeights& w : layers)
    for (const Tensor* t : {&w.w_ih, &w.w_hh, &w.b_ih, &w.b_hh}) inputs.push_back(*t);
  const bool last_only = options.last_only, dropout = options.dropout > 0;
  record(op, inputs, {y}, [=](const std::vector<Tensor>& grads) mutable {
    const Tensor& gy = grads[0];
    detail::with_context(op, {x, layers[0].w_ih}, [&] {
      // With last_only the output is the top layer's last h: its gradient is the carry into the last step.
      const Tensor dy = last_only ? Tensor() : gy;  // [T, B, H] or none
      const Tensor dh_n = last_only ? gy : Tensor();
      std::vector<cuda::LstmStackLayer> b = describe(layers, state);
      std::vector<Tensor> keep;  // the workspaces, alive until the backward's work is queued
      std::vector<Tensor> dbs;
      for (int l = 0; l < num_layers; ++l) {
        const ops::LstmWeights& w = layers[static_cast<size_t>(l)];
        cuda::LstmStackLayer& bl = b[static_cast<size_t>(l)];
        Tensor dw_ih = grad_or_scratch(w.w_ih), dw_hh = grad_or_scratch(w.w_hh);
        Tensor db = Tensor::zeros({G}, DType::F32, Device::CUDA);  // shared by b_ih and b_hh
        Tensor dgates = empty_f32({steps, batch, G}), dh = empty_f32({batch, hidden}), dc = empty_f32({batch, hidden});
        Tensor dx_l = l > 0 ? empty_f32({steps, batch, hidden}) : Tensor();
        Tensor dy_in = dropout && l + 1 < num_layers ? empty_f32({steps, batch, hidden}) : Tensor();
        bl.dw_ih = ptr(dw_ih);
        bl.dw_hh = ptr(dw_hh);
        bl.db = ptr(db);
        bl.dgates = ptr(dgates);
        bl.dh = ptr(dh);
        bl.dc = ptr(dc);
        bl.dx = ptr(dx_l);
        bl.dy_in = ptr(dy_in);
        dbs.push_back(db);
        for (Tensor* t : {&dw_ih, &dw_hh, &dgates, &dh, &dc, &dx_l, &dy_in}) keep.push_back(*t);
      }
      // Written by the kernels, then added: the engine's rule is to accumulate.
      Tensor dx = x.requires_grad() ? Tensor::empty(x.shape(), DType::F32, Device::CUDA) : Tensor();
      cuda::lstm_stack_backward_cuda(streams.get(), order, dims, detail::f32(x), detail::f32_or_null(dy),
                                     detail::f32_or_null(dh_n), ptr(dx), b.data());
      for (int l = 0; l < num_layers; ++l)
        for (const Tensor* bias : {&layers[static_cast<size_t>(l)].b_ih, &layers[static_cast<size_t>(l)].b_hh})
          if (Tensor g = grad_buffer(*bias); g.defined()) legato::accumulate(g, dbs[static_cast<size_t>(l)]);
      if (Tensor g = grad_buffer(x); g.defined()) legato::accumulate(g, dx);
    });
  });
  return y;
}

}  // namespace legato::cuda_ops
